public import ConnectorConfiguration
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Checks, before anything starts, that the listeners' addresses are free, so that `serve` fails at
/// once with the address and the listener named instead of after logging that it runs.
public enum ListenerPreflight {
    /// A listener that cannot listen.
    public struct Failure: Error, CustomStringConvertible {
        /// `the event hook listener` or `the admin listener`.
        public var listener: String
        public var address: ListenAddress
        public var reason: String

        public var description: String { "\(listener) cannot listen on \(address): \(reason)" }
    }

    /// Binds each configured address once and lets it go again.
    /// - Throws: ``Failure`` for the first address that cannot be bound (in use, not local,
    ///   not permitted).
    public static func check(_ server: ServerSettings) throws {
        try check(server.listen, listener: "the event hook listener")
        if let admin = server.admin { try check(admin.listen, listener: "the admin listener") }
    }

    /// Binds one address once (port 0 is always free).
    static func check(_ address: ListenAddress, listener: String) throws {
        guard address.port != 0 else { return }
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(address.host, String(address.port), &hints, &found)
        guard resolved == 0, let first = found else {
            throw Failure(
                listener: listener, address: address,
                reason: "cannot resolve \(address.host): \(String(cString: gai_strerror(resolved)))")
        }
        defer { freeaddrinfo(found) }
        let descriptor = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        // As the listener itself does: a port in TIME_WAIT is not "in use".
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(descriptor, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            let code = errno
            let reason =
                code == EADDRINUSE
                ? "address already in use"
                : code == EADDRNOTAVAIL
                    ? "the address is not one of this host's" : String(cString: strerror(code)).lowercased()
            throw Failure(listener: listener, address: address, reason: reason)
        }
    }
}
