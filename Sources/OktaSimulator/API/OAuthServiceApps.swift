import ConnectorDomain
import Foundation
import HTTPTypes
import Hummingbird
import JWTKit
import Synchronization

/// An OAuth 2.0 service app registered in the simulated org: its client id, how it authenticates
/// (the public key its client assertions are verified with, or a client secret), the scopes it was
/// granted, and whether it requires DPoP, as Okta's new service apps do by default (SPEC §19).
public struct SimulatedServiceApp: Sendable {
    public var clientId: String
    /// PEM public key (RSA or P-256) registered for `private_key_jwt`.
    public var publicKeyPEM: String?
    public var keyId: String?
    /// The secret of a `client_secret_basic` app.
    public var clientSecret: String?
    public var grantedScopes: Set<String>
    /// "Require Demonstrating Proof of Possession (DPoP) header in token requests": on for new apps.
    public var requireDPoP: Bool

    /// A `private_key_jwt` app.
    public init(
        clientId: String, publicKeyPEM: String, keyId: String? = nil, grantedScopes: Set<String>,
        requireDPoP: Bool = true
    ) {
        self.clientId = clientId
        self.publicKeyPEM = publicKeyPEM
        self.keyId = keyId
        self.grantedScopes = grantedScopes
        self.requireDPoP = requireDPoP
    }

    /// A `client_secret_basic` app.
    public init(clientId: String, clientSecret: String, grantedScopes: Set<String>, requireDPoP: Bool = true) {
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.grantedScopes = grantedScopes
        self.requireDPoP = requireDPoP
    }
}

/// `POST /oauth2/v1/token` with client credentials and a `private_key_jwt` client assertion, and the
/// one-hour access tokens it issues (Okta "Implement OAuth for Okta with a service app").
final class OAuthServiceApps: Sendable {
    struct Issued {
        let scopes: Set<String>
        let expires: Date
        /// The thumbprint of the DPoP key a DPoP token is bound to; `nil` for a `Bearer` token.
        let boundTo: String?
    }

    let apps: [String: SimulatedServiceApp]
    let clock: any WallClock
    let dpop: DPoPVerifier
    private let tokens = Mutex<[String: Issued]>([:])

    init(apps: [SimulatedServiceApp], clock: any WallClock) {
        self.apps = Dictionary(apps.map { ($0.clientId, $0) }, uniquingKeysWith: { _, last in last })
        self.clock = clock
        dpop = DPoPVerifier(clock: clock)
    }

    /// A valid access token's grant.
    func issued(_ token: String) -> Issued? {
        tokens.withLock { tokens in
            guard let issued = tokens[token], issued.expires > clock.now else { return nil }
            return issued
        }
    }

    struct Assertion: JWTPayload {
        let iss: IssuerClaim
        let sub: SubjectClaim
        let aud: AudienceClaim
        let exp: ExpirationClaim
        let jti: IDClaim?

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    func oauthError(_ code: String, _ description: String, status: HTTPResponse.Status = .badRequest) -> Response {
        JSONResponse.encode(["error": code, "error_description": description], status: status)
    }

    func handle(_ request: Request, tokenURL: String) async -> Response {
        guard let bytes = try? await request.bodyBytes(limit: 64 * 1024) else {
            return oauthError("invalid_request", "unreadable body")
        }
        let form = QueryItems(String(decoding: bytes, as: UTF8.self))
        guard form["grant_type"] == "client_credentials" else {
            return oauthError("unsupported_grant_type", "only client_credentials is supported for service apps")
        }
        let app: SimulatedServiceApp
        switch await authenticateClient(request, form: form, tokenURL: tokenURL) {
        case .success(let authenticated): app = authenticated
        case .failure(let refusal): return refusal.response
        }
        let requested = Set((form["scope"] ?? "").split(separator: " ").map(String.init))
        guard !requested.isEmpty else { return oauthError("invalid_scope", "the scope parameter is required") }
        var boundTo: String?
        if app.requireDPoP {
            switch await proofOfPossession(request, tokenURL: tokenURL) {
            case .success(let thumbprint): boundTo = thumbprint
            case .failure(let refusal): return refusal.response
            }
        }
        guard requested.isSubset(of: app.grantedScopes) else {
            return oauthError(
                "invalid_scope",
                "the requested scope is not granted to the client: \(requested.subtracting(app.grantedScopes).sorted().joined(separator: " "))"
            )
        }
        let token = (UUID().uuidString + UUID().uuidString).replacingOccurrences(of: "-", with: "")
        tokens.withLock {
            $0[token] = Issued(scopes: requested, expires: clock.now.addingTimeInterval(3600), boundTo: boundTo)
        }
        return JSONResponse.encode(
            TokenResponse(
                token_type: boundTo == nil ? "Bearer" : "DPoP", expires_in: 3600, access_token: token,
                scope: requested.sorted().joined(separator: " ")))
    }

    /// A refused token request, as Okta answers it.
    struct Refusal: Error {
        let response: Response
    }

    /// The app, from `client_secret_basic` or a `private_key_jwt` client assertion.
    func authenticateClient(_ request: Request, form: QueryItems, tokenURL: String) async
        -> Result<SimulatedServiceApp, Refusal>
    {
        func refuse(_ description: String) -> Result<SimulatedServiceApp, Refusal> {
            .failure(Refusal(response: oauthError("invalid_client", description, status: .unauthorized)))
        }
        if let basic = request.headers[.authorization], basic.hasPrefix("Basic ") {
            guard
                let decoded = Data(base64Encoded: String(basic.dropFirst(6))).map({
                    String(decoding: $0, as: UTF8.self)
                }),
                let colon = decoded.firstIndex(of: ":"),
                let id = String(decoded[..<colon]).removingPercentEncoding,
                let secret = String(decoded[decoded.index(after: colon)...]).removingPercentEncoding,
                let app = apps[id], let expected = app.clientSecret, expected == secret
            else { return refuse("the client id or secret is wrong") }
            return .success(app)
        }
        guard form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            let assertion = form["client_assertion"]
        else { return refuse("a private_key_jwt client assertion is required") }
        // Find the app from the unverified issuer, then verify with its registered key.
        let keys = JWTKeyCollection()
        guard let unverified = try? await keys.unverified(assertion, as: Assertion.self),
            let app = apps[unverified.iss.value], let pem = app.publicKeyPEM
        else { return refuse("unknown client") }
        do {
            if let rsa = try? Insecure.RSA.PublicKey(pem: pem) {
                await keys.add(rsa: rsa, digestAlgorithm: .sha256, kid: app.keyId.map { JWKIdentifier(string: $0) })
            } else {
                await keys.add(ecdsa: try ES256PublicKey(pem: pem), kid: app.keyId.map { JWKIdentifier(string: $0) })
            }
            let claims = try await keys.verify(assertion, as: Assertion.self)
            guard claims.sub.value == app.clientId, claims.aud.value.contains(tokenURL) else {
                return refuse("the assertion's sub or aud is wrong")
            }
            guard claims.exp.value > clock.now else { return refuse("the client assertion has expired") }
        } catch {
            return refuse("the client assertion's signature is invalid")
        }
        return .success(app)
    }

    /// The DPoP proof of a token request: missing or bad is `invalid_dpop_proof`; without the
    /// current nonce, `use_dpop_nonce` with the nonce in `DPoP-Nonce` (Okta's first answer).
    func proofOfPossession(_ request: Request, tokenURL: String) async -> Result<String, Refusal> {
        guard let proof = request.headers[.dpop] else {
            return .failure(
                Refusal(response: oauthError("invalid_dpop_proof", "The DPoP proof JWT header is missing.")))
        }
        do {
            let verified = try await dpop.verify(proof, method: "POST", url: tokenURL, accessToken: nil)
            let nonce = dpop.currentNonce
            guard verified.nonce == nonce else {
                var response = oauthError("use_dpop_nonce", "Authorization server requires nonce in DPoP proof.")
                response.headers[.dpopNonce] = nonce
                return .failure(Refusal(response: response))
            }
            return .success(verified.thumbprint)
        } catch {
            return .failure(Refusal(response: oauthError("invalid_dpop_proof", DPoPVerifier.describe(error))))
        }
    }

    struct TokenResponse: Encodable {
        let token_type: String
        let expires_in: Int
        let access_token: String
        let scope: String
    }
}

extension HTTPField.Name {
    /// RFC 9449's proof header.
    static let dpop = HTTPField.Name("DPoP")!
    /// The nonce the server wants in the next proof.
    static let dpopNonce = HTTPField.Name("DPoP-Nonce")!
}
