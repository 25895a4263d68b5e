import ConnectorDomain
import Crypto
public import Foundation
import JWTKit

/// DPoP proofs (RFC 9449, SPEC §19): a JWT per request, signed with the connector's own EC P-256
/// key, which is generated when the connector's client is built and kept in memory only (a restart
/// makes a new one and fetches a new token bound to it). Okta binds the access token to the key;
/// every request, retries included, gets a fresh proof with a unique `jti`.
public final class DPoPProofs: Sendable {
    let keys: JWTKeyCollection
    /// The public key as the proof's `jwk` header carries it.
    let jwk: [String: JWTHeaderField]
    /// The key's RFC 7638 thumbprint (base64url SHA-256), what a bound token's `cnf.jkt` names.
    public let thumbprint: String

    struct Claims: JWTPayload {
        let htm: String
        let htu: String
        let iat: IssuedAtClaim
        let jti: IDClaim
        let ath: String?
        let nonce: String?

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// Generates a new key pair.
    public init() async throws {
        let key = ES256PrivateKey()
        guard let parameters = key.parameters else {
            throw OktaError.malformedResponse(endpoint: "DPoP", reason: "no key")
        }
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: key)
        self.keys = keys
        jwk = ["kty": "EC", "crv": "P-256", "x": .string(parameters.x), "y": .string(parameters.y)]
        // RFC 7638: the required members in lexicographic order, no whitespace.
        let canonical = #"{"crv":"P-256","kty":"EC","x":"\#(parameters.x)","y":"\#(parameters.y)"}"#
        thumbprint = Base64URL.encode(Data(SHA256.hash(data: Data(canonical.utf8))))
    }

    /// A proof for one request.
    /// - Parameters:
    ///   - method: The HTTP method (`htm`).
    ///   - url: The request's URL; `htu` is it without query and fragment.
    ///   - accessToken: The DPoP-bound access token an API call carries (`ath` is its hash); `nil`
    ///     at the token endpoint.
    ///   - nonce: The server's last `DPoP-Nonce`, when it asked for one.
    ///   - now: `iat`.
    /// - Returns: The compact JWT for the `DPoP` header.
    public func proof(method: String, url: String, accessToken: String?, nonce: String?, now: Date) async throws
        -> String
    {
        let claims = Claims(
            htm: method, htu: Self.targetURI(url), iat: .init(value: now), jti: .init(value: UUID().uuidString),
            ath: accessToken.map { Base64URL.encode(Data(SHA256.hash(data: Data($0.utf8)))) }, nonce: nonce)
        return try await keys.sign(claims, header: ["typ": "dpop+jwt", "jwk": .object(jwk)])
    }

    /// `htu`: the URL without its query and fragment (RFC 9449 §4.2).
    static func targetURI(_ url: String) -> String {
        let end = url.firstIndex { $0 == "?" || $0 == "#" } ?? url.endIndex
        return String(url[..<end])
    }
}
