import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOPosix

/// A failure to reach a server, in plain words for operators: `cannot reach https://acme.okta.com:
/// connection refused`, `DNS lookup failed for acme.okta.comm`, instead of NIO's error dump.
public enum TransportFailure {
    /// Describes an error of a call to a URL.
    /// - Parameters:
    ///   - error: What the HTTP client threw.
    ///   - url: The URL called.
    ///   - timeout: The whole call's deadline, for "no answer within 10 s".
    /// - Returns: One sentence, or `nil` when the error is not a transport failure.
    public static func describe(_ error: any Error, url: URL, timeout: TimeInterval? = nil) -> String? {
        let host = url.host ?? url.absoluteString
        var origin = "\(url.scheme ?? "https")://\(host)"
        if let port = url.port { origin += ":\(port)" }
        if let client = error as? HTTPClientError {
            switch client {
            case .connectTimeout: return "cannot reach \(origin): the connection timed out"
            case .tlsHandshakeTimeout: return "cannot reach \(origin): the TLS handshake timed out"
            case .deadlineExceeded, .readTimeout, .getConnectionFromPoolTimeout:
                return "no answer from \(origin)" + (timeout.map { " within \(Int($0)) s" } ?? " in time")
            case .remoteConnectionClosed: return "\(origin) closed the connection before answering"
            default: return nil
            }
        }
        if let connection = error as? NIOConnectionError {
            if connection.connectionErrors.isEmpty, connection.dnsAError != nil || connection.dnsAAAAError != nil {
                return "DNS lookup failed for \(host)"
            }
            if let first = connection.connectionErrors.first?.error {
                return describe(first, url: url, timeout: timeout) ?? "cannot reach \(origin): \(first)"
            }
            return "DNS lookup failed for \(host)"
        }
        if error is SocketAddressError { return "DNS lookup failed for \(host)" }
        if let io = error as? IOError {
            switch io.errnoCode {
            case ECONNREFUSED: return "cannot reach \(origin): connection refused"
            case ECONNRESET: return "cannot reach \(origin): the connection was reset"
            case ENETUNREACH, EHOSTUNREACH: return "cannot reach \(origin): no route to the host"
            case ETIMEDOUT: return "cannot reach \(origin): the connection timed out"
            default: return "cannot reach \(origin): \(String(cString: strerror(io.errnoCode)).lowercased())"
            }
        }
        if error is ChannelError { return "cannot reach \(origin): \(error)" }
        let text = "\(error)"
        if text.contains("NIOSSL") || text.contains("handshake") || text.contains("certificate") {
            return "the TLS connection to \(origin) failed: \(text)"
        }
        return nil
    }
}
