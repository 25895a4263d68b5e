public import AsyncHTTPClient
public import ConnectorDomain
public import Foundation
import JWTKit
public import Logging
import NIOCore
import NIOHTTP1

/// Produces the credentials of each Okta call: `SSWS <token>`, or an access token of an OAuth 2.0
/// service app (a `private_key_jwt` client assertion or `client_secret_basic`), cached for its hour
/// and refreshed five minutes before it expires. With DPoP (RFC 9449, SPEC §19) the token is bound
/// to the connector's own key: `Authorization: DPoP <token>` and a fresh `DPoP` proof on every call.
public actor OktaCredentialsProvider {
    /// How an OAuth service app proves who it is at the token endpoint.
    public enum ClientAuthentication: Sendable {
        case privateKey(pem: Secret, keyId: String?)
        case clientSecret(Secret)
    }

    /// Whether token requests carry DPoP proofs: `auto` starts without and switches on Okta's
    /// `invalid_dpop_proof`; `required` always; `off` never.
    public enum DPoPMode: String, Sendable {
        case auto, required, off
    }

    public enum Method: Sendable {
        case apiToken(Secret)
        case serviceApp(clientId: String, authentication: ClientAuthentication, scopes: [String], dpop: DPoPMode)
    }

    /// What the token endpoint and DPoP cost so far (for `check-config --online` and benchmarks).
    public struct Counts: Sendable, Hashable {
        public var tokensFetched = 0
        public var tokenRequests = 0
        public var nonceRoundTrips = 0
    }

    let method: Method
    let orgURL: URL
    let httpClient: HTTPClient
    let clock: any WallClock
    private var cached: (token: String, type: String, expires: Date)?
    private var refreshing: Task<(String, String, Date), any Error>?
    /// Whether proofs are sent (fixed for `required` and `off`; learnt for `auto`).
    private var dpopActive: Bool
    private var proofs: DPoPProofs?
    /// The last `DPoP-Nonce` of the token endpoint, and of the API (Okta asks for none there today).
    private var tokenNonce: String?
    private var apiNonce: String?
    public private(set) var counts = Counts()
    /// Scopes that only optional features need (SPEC §19).
    let optionalScopes: Set<String>
    /// Optional scopes the current token does not carry (not granted to the app, or not asked for):
    /// their features are off.
    public private(set) var missingScopes: Set<String> = []
    /// Optional scopes Okta refused a token request for, left out of requests until a day passed.
    private var withheld: Set<String> = []
    private var withheldSince: Date?
    let logger: Logger

    /// Creates a provider.
    /// - Parameters:
    ///   - optionalScopes: Scopes that only an optional feature needs: a token request Okta
    ///     refuses with `invalid_scope` is repeated without them, and they are asked for again a
    ///     day later; ``missingScopes`` names those the token does not carry.
    public init(
        method: Method, orgURL: URL, httpClient: HTTPClient, clock: any WallClock, optionalScopes: Set<String> = [],
        logger: Logger = Logger(label: "okta-client")
    ) {
        self.method = method
        self.orgURL = orgURL
        self.httpClient = httpClient
        self.clock = clock
        self.logger = logger
        if case .serviceApp = method { self.optionalScopes = optionalScopes } else { self.optionalScopes = [] }
        if case .serviceApp(_, _, _, .required) = method { dpopActive = true } else { dpopActive = false }
    }

    /// Whether calls are made with DPoP-bound tokens.
    public var usesDPoP: Bool { dpopActive }

    /// The headers that authenticate one call: `Authorization`, and `DPoP` for a bound token.
    /// - Parameters:
    ///   - method: The call's HTTP method.
    ///   - url: The call's URL.
    public func headers(method: String, url: String) async throws -> [(name: String, value: String)] {
        if case .apiToken(let token) = self.method { return [("Authorization", "SSWS \(token.reveal())")] }
        let (token, type) = try await accessToken()
        guard type == "DPoP" else { return [("Authorization", "Bearer \(token)")] }
        let proof = try await proofKeys().proof(
            method: method, url: url, accessToken: token, nonce: apiNonce, now: clock.now)
        return [("Authorization", "DPoP \(token)"), ("DPoP", proof)]
    }

    /// The `Authorization` header alone (tests of plain `Bearer` and `SSWS` paths).
    public func authorization() async throws -> String {
        try await headers(method: "GET", url: orgURL.absoluteString).first { $0.name == "Authorization" }?.value ?? ""
    }

    /// Forgets the cached access token (after a `401`).
    public func invalidate() { cached = nil }

    /// Takes the nonce an API call was refused for (`WWW-Authenticate: DPoP error="use_dpop_nonce"`).
    /// - Returns: Whether it is new: the same nonce demanded again means the proof is not the problem.
    public func acceptAPINonce(_ nonce: String) -> Bool {
        counts.nonceRoundTrips += 1
        guard nonce != apiNonce else { return false }
        apiNonce = nonce
        return true
    }

    private func proofKeys() async throws -> DPoPProofs {
        if let proofs { return proofs }
        let made = try await DPoPProofs()
        proofs = made
        return made
    }

    private func accessToken() async throws -> (String, String) {
        if let cached, cached.expires.timeIntervalSince(clock.now) > 300 { return (cached.token, cached.type) }
        if let refreshing {
            let (token, type, _) = try await refreshing.value
            return (token, type)
        }
        let task = Task { try await self.requestToken() }
        refreshing = task
        defer { refreshing = nil }
        let (token, type, expires) = try await task.value
        cached = (token, type, expires)
        return (token, type)
    }

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
        /// The scopes granted, space-separated (Okta names them; absent means those asked for).
        let scope: String?
    }

    struct TokenError: Decodable {
        let error: String
        let error_description: String?
    }

    /// The scopes a token request asks for: the configured ones but those withheld.
    private var requestedScopes: [String] {
        guard case .serviceApp(_, _, let scopes, _) = method else { return [] }
        return scopes.filter { !withheld.contains($0) }
    }

    /// One token request, with the DPoP round trips it may take: `invalid_dpop_proof` switches `auto`
    /// to proofs (once), `use_dpop_nonce` repeats with Okta's nonce (once: twice in a row is an error).
    private func requestToken() async throws -> (String, String, Date) {
        guard case .serviceApp(_, _, _, let mode) = method else { throw CancellationError() }
        let tokenURL = orgURL.appendingPathComponent("oauth2/v1/token").absoluteString
        var switched = false
        var nonceRetried = false
        var askedWithout = false
        var before: (Set<String>, Date?)?
        // Scopes refused a day ago or more are asked for again: an admin may have granted them.
        if let since = withheldSince, clock.now.timeIntervalSince(since) >= 86_400 {
            withheld = []
            withheldSince = nil
        }
        while true {
            let response = try await httpClient.execute(try await tokenRequest(tokenURL), timeout: .seconds(30))
            counts.tokenRequests += 1
            let data = Data(try await response.body.collect(upTo: 1 << 20).readableBytesView)
            if response.status == .ok { return try acceptToken(data, mode: mode) }
            let error = try? JSONDecoder().decode(TokenError.self, from: data)
            let code = error?.error ?? "unknown"
            let description = error?.error_description ?? ""
            if code == "use_dpop_nonce", dpopActive, let nonce = response.headers.first(name: "DPoP-Nonce") {
                counts.nonceRoundTrips += 1
                guard !nonceRetried else {
                    throw OktaError.tokenRequestFailed(
                        status: Int(response.status.code), error: code,
                        description: "Okta asked for a new DPoP nonce twice in a row (\(description))")
                }
                nonceRetried = true
                tokenNonce = nonce
                continue
            }
            let refusable = optionalScopes.intersection(requestedScopes).subtracting(withheld)
            if code == "invalid_scope", !askedWithout, !refusable.isEmpty {
                // Okta refuses the whole request for one scope the app lacks: ask again without the
                // optional ones, and say once which to grant (SPEC §19).
                askedWithout = true
                before = (withheld, withheldSince)
                withheld.formUnion(refusable)
                withheldSince = clock.now
                logger.warning(
                    "Okta refused the token request for scopes the OAuth app was not granted; asking without them and leaving their features off until a daily retry finds them granted",
                    metadata: [
                        "scopes": "\(refusable.sorted().joined(separator: " "))",
                        "grant": "grant \(refusable.sorted().joined(separator: ", ")) to the app (Okta API Scopes tab)",
                        "okta_error": "\(description)",
                    ])
                continue
            }
            if code == "invalid_dpop_proof", mode == .auto, !dpopActive, !switched {
                // The app requires DPoP (Okta's default for new service apps): from now on, proofs.
                switched = true
                dpopActive = true
                continue
            }
            if code == "invalid_scope", let (kept, since) = before {
                // Refused without the optional scopes too: a required one is missing, not these.
                withheld = kept
                withheldSince = since
            }
            throw OktaError.tokenRequestFailed(status: Int(response.status.code), error: code, description: description)
        }
    }

    /// The token request: client authentication, scopes, and a proof when DPoP is on.
    private func tokenRequest(_ tokenURL: String) async throws -> HTTPClientRequest {
        guard case .serviceApp(let clientId, let authentication, let scopes, _) = method else {
            throw CancellationError()
        }
        let asked = scopes.filter { !withheld.contains($0) }
        var fields = [("grant_type", "client_credentials"), ("scope", asked.joined(separator: " "))]
        var request = HTTPClientRequest(url: tokenURL)
        switch authentication {
        case .privateKey(let pem, let keyId):
            fields += [
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                (
                    "client_assertion",
                    try await assertion(clientId: clientId, pem: pem, keyId: keyId, audience: tokenURL)
                ),
            ]
        case .clientSecret(let secret):
            // RFC 6749 §2.3.1: both parts form-encoded before Basic encoding.
            let pair = "\(URLFormEncoding.encode(clientId)):\(URLFormEncoding.encode(secret.reveal()))"
            request.headers.add(name: "Authorization", value: "Basic \(Data(pair.utf8).base64EncodedString())")
        }
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        if dpopActive {
            let proof = try await proofKeys().proof(
                method: "POST", url: tokenURL, accessToken: nil, nonce: tokenNonce, now: clock.now)
            request.headers.add(name: "DPoP", value: proof)
        }
        request.body = .bytes(ByteBuffer(string: URLFormEncoding.form(fields)))
        return request
    }

    /// A `private_key_jwt` client assertion, fresh for each request (its `jti` is used once).
    private func assertion(clientId: String, pem: Secret, keyId: String?, audience: String) async throws -> String {
        let keys = JWTKeyCollection()
        let kid = keyId.map { JWKIdentifier(string: $0) }
        if let rsa = try? Insecure.RSA.PrivateKey(pem: pem.reveal()) {
            await keys.add(rsa: rsa, digestAlgorithm: .sha256, kid: kid)
        } else {
            await keys.add(ecdsa: try ES256PrivateKey(pem: pem.reveal()), kid: kid)
        }
        let now = clock.now
        return try await keys.sign(
            ClientAssertion(
                iss: .init(value: clientId), sub: .init(value: clientId), aud: .init(value: [audience]),
                iat: .init(value: now), exp: .init(value: now.addingTimeInterval(300)),
                jti: .init(value: UUID().uuidString)), kid: kid)
    }

    private func acceptToken(_ data: Data, mode: DPoPMode) throws -> (String, String, Date) {
        guard let answer = try? JSONDecoder().decode(TokenAnswer.self, from: data),
            answer.token_type == "Bearer" || answer.token_type == "DPoP"
        else {
            throw OktaError.malformedResponse(
                endpoint: "POST /oauth2/v1/token", reason: "not a Bearer or DPoP token answer")
        }
        if mode == .required && answer.token_type != "DPoP" {
            // A configuration problem, not a passing one: reported as a refused credential, so that
            // calls pause (one probe a minute) instead of asking for tokens in a loop.
            throw OktaError.tokenRequestFailed(
                status: 400, error: "dpop_not_bound",
                description:
                    "okta.oauth.dpop is required, but the app returned a Bearer token: switch on \"Require DPoP header in token requests\" in the app, or set dpop: auto"
            )
        }
        counts.tokensFetched += 1
        let granted = answer.scope.map { Set($0.split(separator: " ").map(String.init)) } ?? Set(requestedScopes)
        missingScopes = optionalScopes.subtracting(granted)
        let lifetime = HeaderValues.tokenLifetime(answer.expires_in).value
        return (answer.access_token, answer.token_type, clock.now.addingTimeInterval(lifetime))
    }
}
