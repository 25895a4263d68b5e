import ConnectorDomain
import Foundation
import Hummingbird
import JWTKit
import Synchronization

/// An OAuth 2.0 service app registered in the simulated org: its client id, the public key its
/// client assertions are verified with, and the scopes it was granted.
public struct SimulatedServiceApp: Sendable {
    public var clientId: String
    /// PEM public key (RSA or P-256) registered for `private_key_jwt`.
    public var publicKeyPEM: String
    public var keyId: String?
    public var grantedScopes: Set<String>

    /// Creates a service app.
    public init(clientId: String, publicKeyPEM: String, keyId: String? = nil, grantedScopes: Set<String>) {
        self.clientId = clientId
        self.publicKeyPEM = publicKeyPEM
        self.keyId = keyId
        self.grantedScopes = grantedScopes
    }
}

/// `POST /oauth2/v1/token` with client credentials and a `private_key_jwt` client assertion, and the
/// one-hour access tokens it issues (Okta "Implement OAuth for Okta with a service app").
final class OAuthServiceApps: Sendable {
    struct Issued {
        let scopes: Set<String>
        let expires: Date
    }

    let apps: [String: SimulatedServiceApp]
    let clock: any WallClock
    private let tokens = Mutex<[String: Issued]>([:])

    init(apps: [SimulatedServiceApp], clock: any WallClock) {
        self.apps = Dictionary(apps.map { ($0.clientId, $0) }, uniquingKeysWith: { _, last in last })
        self.clock = clock
    }

    /// The scopes of a valid access token.
    func scopes(ofAccessToken token: String) -> Set<String>? {
        tokens.withLock { tokens in
            guard let issued = tokens[token], issued.expires > clock.now else { return nil }
            return issued.scopes
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
        guard form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            let assertion = form["client_assertion"]
        else {
            return oauthError("invalid_client", "a private_key_jwt client assertion is required", status: .unauthorized)
        }
        let requested = Set((form["scope"] ?? "").split(separator: " ").map(String.init))
        guard !requested.isEmpty else { return oauthError("invalid_scope", "the scope parameter is required") }

        // Find the app from the unverified issuer, then verify with its registered key.
        let keys = JWTKeyCollection()
        guard let unverified = try? await keys.unverified(assertion, as: Assertion.self),
            let app = apps[unverified.iss.value]
        else { return oauthError("invalid_client", "unknown client", status: .unauthorized) }
        do {
            if let rsa = try? Insecure.RSA.PublicKey(pem: app.publicKeyPEM) {
                await keys.add(rsa: rsa, digestAlgorithm: .sha256, kid: app.keyId.map { JWKIdentifier(string: $0) })
            } else {
                let ecdsa = try ES256PublicKey(pem: app.publicKeyPEM)
                await keys.add(ecdsa: ecdsa, kid: app.keyId.map { JWKIdentifier(string: $0) })
            }
            let claims = try await keys.verify(assertion, as: Assertion.self)
            guard claims.sub.value == app.clientId, claims.aud.value.contains(tokenURL) else {
                return oauthError("invalid_client", "the assertion's sub or aud is wrong", status: .unauthorized)
            }
            guard claims.exp.value > clock.now else {
                return oauthError("invalid_client", "the client assertion has expired", status: .unauthorized)
            }
        } catch {
            return oauthError("invalid_client", "the client assertion's signature is invalid", status: .unauthorized)
        }
        guard requested.isSubset(of: app.grantedScopes) else {
            return oauthError(
                "invalid_scope",
                "the requested scope is not granted to the client: \(requested.subtracting(app.grantedScopes).sorted().joined(separator: " "))"
            )
        }
        let token = (UUID().uuidString + UUID().uuidString).replacingOccurrences(of: "-", with: "")
        tokens.withLock { $0[token] = Issued(scopes: requested, expires: clock.now.addingTimeInterval(3600)) }
        return JSONResponse.encode(
            TokenResponse(
                token_type: "Bearer", expires_in: 3600, access_token: token,
                scope: requested.sorted().joined(separator: " ")))
    }

    struct TokenResponse: Encodable {
        let token_type: String
        let expires_in: Int
        let access_token: String
        let scope: String
    }
}
