public import AsyncHTTPClient
public import NIOCore
public import NIOSSL

/// The one setup of every HTTP client that calls out (Okta, the sink and its token endpoint): TLS
/// 1.2 or newer with certificates verified, and no redirects followed. Okta does not redirect API
/// calls, and a sink that redirects could send a batch, with its bearer token, to another origin or
/// over plain HTTP (a `307`/`308` re-sends the body); a redirect is answered as the error it is.
public enum OutgoingHTTPClient {
    /// What every outgoing client guarantees, for `check-config`.
    public static let policy = "TLS 1.2 or newer, certificates verified, redirects not followed"

    /// The TLS settings of every outgoing client.
    /// - Parameter caFile: A PEM CA bundle trusted besides the system roots.
    /// - Returns: The client TLS configuration.
    public static func tlsConfiguration(caFile: String? = nil) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .fullVerification
        if let caFile { tls.additionalTrustRoots = [.file(caFile)] }
        return tls
    }

    /// The client configuration: ``tlsConfiguration(caFile:)``, redirects not followed, bounded timeouts.
    /// - Parameters:
    ///   - caFile: A PEM CA bundle trusted besides the system roots.
    ///   - connectTimeout: How long a connection may take.
    ///   - readTimeout: How long an answer may pause.
    /// - Returns: The configuration.
    public static func configuration(
        caFile: String? = nil, connectTimeout: TimeAmount = .seconds(10), readTimeout: TimeAmount = .seconds(60)
    ) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tlsConfiguration(caFile: caFile), redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: connectTimeout, read: readTimeout)
        return configuration
    }

    /// A client with ``configuration(caFile:connectTimeout:readTimeout:)``; its owner shuts it down.
    /// - Parameters:
    ///   - caFile: A PEM CA bundle trusted besides the system roots.
    ///   - connectTimeout: How long a connection may take.
    /// - Returns: The client.
    public static func make(caFile: String? = nil, connectTimeout: TimeAmount = .seconds(10)) -> HTTPClient {
        HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: configuration(caFile: caFile, connectTimeout: connectTimeout))
    }

    /// Runs `body` with a client from ``make(caFile:connectTimeout:)`` and shuts the client down
    /// afterwards however `body` ends: for the commands that run no service group.
    /// - Parameters:
    ///   - caFile: A PEM CA bundle trusted besides the system roots.
    ///   - connectTimeout: How long a connection may take.
    ///   - body: The work with the client.
    /// - Returns: What `body` returns.
    public static func using<T>(
        caFile: String? = nil, connectTimeout: TimeAmount = .seconds(10), _ body: (HTTPClient) async throws -> T
    ) async throws -> T {
        let client = make(caFile: caFile, connectTimeout: connectTimeout)
        do {
            let result = try await body(client)
            try? await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}
