import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Which process started a run: the host, the process id and a random id per process start (a
/// restarted container can reuse the id of the process that died, often 1). Crash recovery tells
/// a run of a live process from one left behind by a dead one.
public struct ProcessIdentity: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var pid: Int32
    public var incarnation: String

    /// This process.
    public static let current = ProcessIdentity(
        host: ProcessInfo.processInfo.hostName, pid: ProcessInfo.processInfo.processIdentifier,
        incarnation: String(UUID().uuidString.prefix(8)).lowercased())

    /// Creates an identity.
    public init(host: String, pid: Int32, incarnation: String) {
        self.host = host
        self.pid = pid
        self.incarnation = incarnation
    }

    /// Reads `host pid incarnation`; `nil` when malformed.
    public init?(description: String) {
        let parts = description.split(separator: " ")
        guard parts.count == 3, let pid = Int32(parts[1]) else { return nil }
        self.init(host: String(parts[0]), pid: pid, incarnation: String(parts[2]))
    }

    public var description: String { "\(host) \(pid) \(incarnation)" }

    /// Whether a run recorded with `owner` can no longer finish: its process is gone. A missing
    /// owner (a run from before owners were recorded) counts as gone; a process on another host is
    /// never judged from here.
    public func considersGone(_ owner: ProcessIdentity?) -> Bool {
        guard let owner else { return true }
        if owner == self { return false }
        guard owner.host == host else { return false }
        if owner.pid == pid { return true }  // our pid, another incarnation: that process died
        return !Self.isAlive(pid: owner.pid)
    }

    /// Whether a process with this id exists on this host.
    static func isAlive(pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }
}

/// When a run recorded `running` can no longer finish (crash recovery, SPEC §11), shared by the
/// backends: never a run of this process; a run whose process is gone (on this host); a run whose
/// process no longer holds the connector's run lease (it lapsed: the process died or hangs, on any
/// host).
public enum RunRecovery {
    /// - Parameters:
    ///   - owner: The run's process (`host pid incarnation`).
    ///   - leaseHolder: Who holds the connector's run lease, if anyone.
    ///   - leaseExpiresAt: When that lease lapses (milliseconds).
    ///   - me: This process.
    ///   - at: Now (milliseconds).
    public static func isAbandoned(
        owner: String?, leaseHolder: String?, leaseExpiresAt: Int64?, me: ProcessIdentity, at: Int64
    ) -> Bool {
        if owner == me.description { return false }
        if me.considersGone(owner.flatMap(ProcessIdentity.init(description:))) { return true }
        guard let owner, let leaseHolder, let leaseExpiresAt else { return true }
        return leaseHolder != owner || leaseExpiresAt <= at
    }
}
