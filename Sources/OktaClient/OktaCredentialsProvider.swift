public import AsyncHTTPClient
public import ConnectorDomain
public import Foundation
import JWTKit
import NIOCore
import NIOHTTP1

/// Produces the `Authorization` header for Okta calls: `SSWS <token>`, or a `Bearer` access token of
/// an OAuth 2.0 service app obtained with a `private_key_jwt` client assertion, cached for its hour
/// and refreshed five minutes before it expires.
public actor OktaCredentialsProvider {
    public enum Method: Sendable {
        case apiToken(Secret)
        case serviceApp(clientId: String, privateKeyPEM: Secret, keyId: String?, scopes: [String])
    }

    let method: Method
    let orgURL: URL
    let httpClient: HTTPClient
    let clock: any WallClock
    private var cached: (token: String, expires: Date)?
    private var refreshing: Task<(String, Date), any Error>?

    /// Creates a provider.
    public init(method: Method, orgURL: URL, httpClient: HTTPClient, clock: any WallClock) {
        self.method = method
        self.orgURL = orgURL
        self.httpClient = httpClient
        self.clock = clock
    }

    /// The header value for the next call.
    public func authorization() async throws -> String {
        switch method {
        case .apiToken(let token):
            return "SSWS \(token.reveal())"
        case .serviceApp:
            if let cached, cached.expires.timeIntervalSince(clock.now) > 300 { return "Bearer \(cached.token)" }
            if let refreshing { return "Bearer \(try await refreshing.value.0)" }
            let task = Task { try await self.requestToken() }
            refreshing = task
            defer { refreshing = nil }
            let (token, expires) = try await task.value
            cached = (token, expires)
            return "Bearer \(token)"
        }
    }

    /// Forgets the cached access token (after a `401`).
    public func invalidate() { cached = nil }

    struct ClientAssertion: JWTPayload {
        let iss: IssuerClaim
        let sub: SubjectClaim
        let aud: AudienceClaim
        let iat: IssuedAtClaim
        let exp: ExpirationClaim
        let jti: IDClaim

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    struct TokenAnswer: Decodable {
        let access_token: String
        /// Any number (decoded as `Double` so that a huge or fractional value is not a decoding
        /// error); clamped by ``HeaderValues/tokenLifetime(_:)``.
        let expires_in: Double?
        let token_type: String
    }

    struct TokenError: Decodable {
        let error: String
        let error_description: String?
    }

    private func requestToken() async throws -> (String, Date) {
        guard case .serviceApp(let clientId, let pem, let keyId, let scopes) = method else { throw CancellationError() }
        let tokenURL = orgURL.appendingPathComponent("oauth2/v1/token").absoluteString
        let keys = JWTKeyCollection()
        let kid = keyId.map { JWKIdentifier(string: $0) }
        if let rsa = try? Insecure.RSA.PrivateKey(pem: pem.reveal()) {
            await keys.add(rsa: rsa, digestAlgorithm: .sha256, kid: kid)
        } else {
            await keys.add(ecdsa: try ES256PrivateKey(pem: pem.reveal()), kid: kid)
        }
        let now = clock.now
        let assertion = try await keys.sign(
            ClientAssertion(
                iss: .init(value: clientId), sub: .init(value: clientId), aud: .init(value: [tokenURL]),
                iat: .init(value: now), exp: .init(value: now.addingTimeInterval(300)),
                jti: .init(value: UUID().uuidString)), kid: kid)
        let form = URLFormEncoding.form([
            ("grant_type", "client_credentials"), ("scope", scopes.joined(separator: " ")),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", assertion),
        ])
        var request = HTTPClientRequest(url: tokenURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(string: form))
        let response = try await httpClient.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        let data = Data(body.readableBytesView)
        guard response.status == .ok else {
            let error = try? JSONDecoder().decode(TokenError.self, from: data)
            throw OktaError.tokenRequestFailed(
                status: Int(response.status.code), error: error?.error ?? "unknown",
                description: error?.error_description ?? "")
        }
        guard let answer = try? JSONDecoder().decode(TokenAnswer.self, from: data), answer.token_type == "Bearer" else {
            throw OktaError.malformedResponse(endpoint: "POST /oauth2/v1/token", reason: "not a Bearer token answer")
        }
        return (answer.access_token, now.addingTimeInterval(HeaderValues.tokenLifetime(answer.expires_in).value))
    }
}
