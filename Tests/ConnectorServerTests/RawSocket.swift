import ConnectorTestSupport
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A plain TCP connection driven byte by byte, for clients no HTTP library would be: ones that
/// trickle, stall, or never finish.
final class RawSocket: Sendable {
    let descriptor: Int32
    private let isOpen = Mutex(true)

    /// Connects to a loopback port.
    init(port: Int) throws {
        #if canImport(Glibc)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let error = errno
            _ = Glibc.close(descriptor)
            throw POSIXError(POSIXErrorCode(rawValue: error) ?? .EIO)
        }
        self.descriptor = descriptor
    }

    deinit { close() }

    /// Closes the connection; closing twice is harmless.
    func close() {
        let wasOpen = isOpen.withLock { open in
            defer { open = false }
            return open
        }
        if wasOpen { _ = Glibc.close(descriptor) }
    }

    /// Sends text; `false` when the peer closed.
    @discardableResult
    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { buffer in
            Glibc.send(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL)) == buffer.count
        }
    }

    /// Reads what arrives within `timeout` seconds, until the peer closes or `until` is found. The
    /// wait is on a thread of its own (``onOwnThread(_:)``).
    /// - Returns: The text read and whether the peer closed the connection.
    func read(timeout: Double, until marker: String? = nil) async -> (text: String, closed: Bool) {
        await onOwnThread { self.readBlocking(timeout: timeout, until: marker) }
    }

    /// What has arrived by now, without waiting.
    func readNow() -> (text: String, closed: Bool) { readBlocking(timeout: 0, until: nil) }

    private func readBlocking(timeout: Double, until marker: String?) -> (text: String, closed: Bool) {
        var received = [UInt8]()
        let end = Date().addingTimeInterval(timeout)
        // At least one poll: a timeout of 0 asks whether anything has arrived by now.
        while true {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let left = Int32(max(0, end.timeIntervalSinceNow * 1000))
            guard poll(&poller, 1, left) > 0 else { break }
            var buffer = [UInt8](repeating: 0, count: 65_536)
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { return (String(decoding: received, as: UTF8.self), true) }
            received += buffer[..<count]
            if let marker, String(decoding: received, as: UTF8.self).contains(marker) { break }
        }
        return (String(decoding: received, as: UTF8.self), false)
    }

    /// One whole HTTP/1.1 request as text.
    static func request(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: String = "", keepAlive: Bool = true
    ) -> String {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { text += "Content-Length: \(body.utf8.count)\r\n" }
        if !keepAlive { text += "Connection: close\r\n" }
        return text + "\r\n" + body
    }
}

/// Raises the open-file limit of the test process to at most `wanted` (the hard limit bounds it).
/// - Returns: The soft limit now in force.
func raiseOpenFileLimit(to wanted: Int) -> Int {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    if limit.rlim_cur < rlim_t(wanted) {
        limit.rlim_cur = min(rlim_t(wanted), limit.rlim_max)
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
    return Int(limit.rlim_cur)
}
