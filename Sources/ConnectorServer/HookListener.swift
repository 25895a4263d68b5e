public import ConnectorConfiguration
import Foundation
public import HummingbirdCore
import HummingbirdTLS
public import NIOCore
import NIOSSL

/// How the event hook listener serves: HTTPS with the configured certificate (TLS 1.2 at least),
/// HTTP/1.1, and limits against slow or greedy clients (SPEC §4, §12).
public enum HookListener {
    /// Closes connections idle this long (slowloris).
    public static let idleTimeout: TimeAmount = .seconds(30)

    /// The server builder for the listener.
    /// - Parameter tls: Certificate and key files; `nil` serves plain HTTP (tests only).
    public static func serverBuilder(tls: TLSFiles?) throws -> HTTPServerBuilder {
        let http1 = HTTPServerBuilder.http1(
            configuration: .init(
                idleTimeout: idleTimeout,
                httpDecoderConfiguration: .init(
                    maxHeaderFieldSize: 16 * 1024, maxHeaderListSize: 64 * 1024, maxHeaderFieldCount: 100)))
        guard let tls else { return http1 }
        let certificates = try NIOSSLCertificate.fromPEMFile(tls.certificatePath)
        let key = try NIOSSLPrivateKey(file: tls.privateKeyPath, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificates.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return try .tls(http1, tlsConfiguration: configuration)
    }
}
