import ConnectorDomain
public import ConnectorStore
import Foundation
public import Logging
import Synchronization

/// One reconcile at a time per connector, whatever started it (schedule, CLI, admin API,
/// reactivation), in this process and, through the store's run lease, across every process sharing
/// the store (a CLI `reconcile` next to `serve`).
///
/// Entry is scoped (``admit(_:_:)``): the gate and the lease are left however the body ends
/// (returns, throws or is cancelled), so they can never leak; a lease whose holder died lapses at
/// its expiry or as soon as another process on the same host sees the holder gone.
public final class RunGate: Sendable {
    /// The run lease the current task runs under (set by ``admit(_:_:)`` for its body): a run's
    /// writes carry it, and the store refuses them once the lease lapsed or passed to another
    /// process, so a run that hung past its lease can never write over a newer run's results.
    @TaskLocal public static var runFence: RunFence?

    private let running = Mutex<Set<String>>([])
    let leases: (any RunLeases)?
    let identity: ProcessIdentity
    /// How long a lease lasts without renewal, and how often it is renewed while a run lasts.
    let leaseDuration: Duration
    let renewEvery: Duration
    let logger: Logger

    /// Creates a gate.
    /// - Parameters:
    ///   - leases: The store's run leases; `nil` keeps the gate to this process (tests).
    ///   - identity: This process, as recorded on the lease.
    ///   - leaseDuration: How long a lease lasts unless renewed.
    ///   - logger: Where a lease that cannot be renewed or released is reported.
    public init(
        leases: (any RunLeases)? = nil, identity: ProcessIdentity = .current, leaseDuration: Duration = .seconds(60),
        logger: Logger = Logger(label: "okta-connector.run-gate")
    ) {
        self.logger = logger
        self.leases = leases
        self.identity = identity
        self.leaseDuration = leaseDuration
        self.renewEvery = leaseDuration / 3
    }

    /// Runs `body` as the connector's one run, or answers at once who runs it now.
    /// - Throws: What `body` throws, or the store's error when the lease cannot be read or taken.
    public func admit<T: Sendable>(
        _ connector: String, _ body: () async throws -> T
    ) async throws -> RunAdmission<T> {
        guard running.withLock({ $0.insert(connector).inserted }) else {
            return .busy(.thisProcess(lease: try? await leases?.runLease(connector: connector)))
        }
        defer { _ = running.withLock { $0.remove(connector) } }
        guard let leases else { return .ran(try await body()) }
        // Lease times are wall-clock times shared with other processes, never a test clock.
        let now = Date()
        switch try await leases.acquireRunLease(
            connector: connector, holder: identity, at: Timestamp(now),
            expiresAt: Timestamp(now.addingTimeInterval(leaseDuration.seconds)))
        {
        case .held(let lease): return .busy(.otherProcess(lease))
        case .acquired: break
        }
        let identity = self.identity
        let duration = leaseDuration
        let renewEvery = self.renewEvery
        let logger = self.logger
        let result: Result<T, any Error> = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: renewEvery)
                    guard !Task.isCancelled else { return }
                    do {
                        let kept = try await leases.renewRunLease(
                            connector: connector, holder: identity,
                            expiresAt: Timestamp(Date().addingTimeInterval(duration.seconds)))
                        if !kept {
                            logger.error(
                                "the run lease lapsed while the run lasts: another process may start a run",
                                metadata: ["connector": "\(connector)"])
                        }
                    } catch {
                        // Tried again at the next renewal; the lease lasts three renewals.
                        logger.warning(
                            "could not renew the run lease",
                            metadata: ["connector": "\(connector)", "error": "\(error)"])
                    }
                }
            }
            defer { group.cancelAll() }
            do {
                return .success(
                    try await Self.$runFence.withValue(RunFence(holder: identity.description)) {
                        try await body()
                    })
            } catch {
                return .failure(error)
            }
        }
        // Released even when the run was cancelled: an unstructured task does not inherit that.
        do {
            try await Task.detached { try await leases.releaseRunLease(connector: connector, holder: identity) }.value
        } catch {
            // It lapses at its expiry instead; until then other processes are told who held it.
            logger.warning(
                "could not release the run lease", metadata: ["connector": "\(connector)", "error": "\(error)"])
        }
        return .ran(try result.get())
    }

    /// Runs `body` as the connector's one run, or returns `nil` at once when one is in progress.
    public func withRun<T: Sendable>(_ connector: String, _ body: () async throws -> T) async throws -> T? {
        if case .ran(let value) = try await admit(connector, body) { return value }
        return nil
    }

    /// Who runs the connector's reconcile now, if anyone: this process, or another one holding an
    /// unexpired lease.
    public func holder(of connector: String) async throws -> RunHolder? {
        if isRunning(connector) { return .thisProcess(lease: try? await leases?.runLease(connector: connector)) }
        guard let leases, let lease = try await leases.runLease(connector: connector) else { return nil }
        guard lease.expiresAt > Timestamp(Date()), lease.holder != identity.description,
            !identity.considersGone(lease.holderIdentity)
        else { return nil }
        return .otherProcess(lease)
    }

    /// Whether a run of the connector is in progress in this process.
    public func isRunning(_ connector: String) -> Bool { running.withLock { $0.contains(connector) } }
}

/// Whether a run was admitted.
public enum RunAdmission<T: Sendable>: Sendable {
    /// It ran; its result.
    case ran(T)
    /// Another run of the connector is in progress.
    case busy(RunHolder)
}

/// Who runs a connector's reconcile now.
public enum RunHolder: Sendable, Hashable {
    /// This process (its lease, when the store has one).
    case thisProcess(lease: RunLease?)
    /// Another process, by its lease.
    case otherProcess(RunLease)

    /// The operator's sentence: `a reconcile of okta-production is running in process 1234 on host
    /// X since 10:02:11 UTC; try again when it ends`.
    public func message(connector: String) -> String {
        let lease: RunLease?
        switch self {
        case .thisProcess(let own): lease = own
        case .otherProcess(let other): lease = other
        }
        guard let lease else {
            return "a reconcile of \(connector) is running in this process; try again when it ends"
        }
        let since = Self.time(lease.acquiredAt)
        if let identity = lease.holderIdentity {
            return
                "a reconcile of \(connector) is running in process \(identity.pid) on host \(identity.host) since \(since); try again when it ends"
        }
        return "a reconcile of \(connector) is running in \(lease.holder) since \(since); try again when it ends"
    }

    static func time(_ timestamp: Timestamp) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "HH:mm:ss 'UTC'"
        return formatter.string(from: timestamp.date)
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    var seconds: TimeInterval {
        let (whole, fraction) = components
        return TimeInterval(whole) + TimeInterval(fraction) / 1e18
    }
}
