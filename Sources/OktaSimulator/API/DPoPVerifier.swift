import ConnectorDomain
import Crypto
import Foundation
import JWTKit
import Synchronization

/// Checks DPoP proofs (RFC 9449) as Okta does for apps that require them (SPEC §19): the proof's
/// header (`typ: dpop+jwt`, `alg: ES256`, the public `jwk`), its signature by that key, `htm` and
/// `htu` of this request, `iat` within five minutes, a `jti` never seen before, the token
/// endpoint's current nonce, and on API calls `ath` = the token's hash and the key the token is
/// bound to.
final class DPoPVerifier: Sendable {
    struct Claims: JWTPayload {
        let htm: String
        let htu: String
        let iat: IssuedAtClaim
        let jti: IDClaim
        let ath: String?
        let nonce: String?

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// What a good proof says: its key's RFC 7638 thumbprint (a bound token names it) and its nonce.
    struct Verified {
        let thumbprint: String
        let nonce: String?
    }

    /// Why a proof is refused, in Okta's words.
    struct Refusal: Error {
        let description: String
    }

    let clock: any WallClock
    /// The token endpoint's nonce; Okta renews it daily.
    private let nonce = Mutex<(value: String, issued: Date)>(("", .distantPast))
    /// `jti`s seen in the last ten minutes (older proofs fail on `iat` anyway).
    private let seen = Mutex<[String: Date]>([:])

    init(clock: any WallClock) {
        self.clock = clock
    }

    /// The nonce the token endpoint wants now.
    var currentNonce: String {
        nonce.withLock { current in
            if clock.now.timeIntervalSince(current.issued) > 86_400 {
                current = (Self.randomToken(), clock.now)
            }
            return current.value
        }
    }

    /// Verifies one proof.
    /// - Parameters:
    ///   - proof: The `DPoP` header.
    ///   - method: The request's method.
    ///   - url: The request's URL without query.
    ///   - accessToken: For an API call, the token it carries (its hash must be `ath`).
    func verify(_ proof: String, method: String, url: String, accessToken: String?) async throws(Refusal) -> Verified {
        let parts = proof.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = Base64URL.decode(String(parts[0])),
            let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any]
        else { throw Refusal(description: "The DPoP proof is not a JWT.") }
        guard header["typ"] as? String == "dpop+jwt" else {
            throw Refusal(description: "The DPoP proof's typ is not dpop+jwt.")
        }
        guard header["alg"] as? String == "ES256", let jwk = header["jwk"] as? [String: Any],
            jwk["kty"] as? String == "EC", jwk["crv"] as? String == "P-256", let x = jwk["x"] as? String,
            let y = jwk["y"] as? String, jwk["d"] == nil
        else { throw Refusal(description: "The DPoP proof's jwk is not a public P-256 key.") }
        let claims: Claims
        do {
            let keys = JWTKeyCollection()
            await keys.add(ecdsa: try ES256PublicKey(parameters: (x, y)))
            claims = try await keys.verify(proof, as: Claims.self)
        } catch {
            throw Refusal(description: "The DPoP proof's signature is invalid.")
        }
        guard claims.htm == method, claims.htu == url else {
            throw Refusal(description: "The DPoP proof's htm or htu does not match the request.")
        }
        guard abs(claims.iat.value.timeIntervalSince(clock.now)) < 300 else {
            throw Refusal(description: "The DPoP proof's iat is too far from now.")
        }
        if let accessToken {
            guard claims.ath == Base64URL.encode(Data(SHA256.hash(data: Data(accessToken.utf8)))) else {
                throw Refusal(description: "The DPoP proof's ath does not match the access token.")
            }
        }
        guard remember(claims.jti.value) else { throw Refusal(description: "The DPoP proof's jti was already used.") }
        let canonical = #"{"crv":"P-256","kty":"EC","x":"\#(x)","y":"\#(y)"}"#
        return Verified(
            thumbprint: Base64URL.encode(Data(SHA256.hash(data: Data(canonical.utf8)))), nonce: claims.nonce)
    }

    /// Records a `jti`; `false` when it was seen.
    private func remember(_ jti: String) -> Bool {
        let now = clock.now
        return seen.withLock { seen in
            if seen.count > 10_000 { seen = seen.filter { now.timeIntervalSince($0.value) < 600 } }
            guard seen[jti] == nil else { return false }
            seen[jti] = now
            return true
        }
    }

    /// What a refusal says.
    static func describe(_ error: any Error) -> String {
        (error as? Refusal)?.description ?? "The DPoP proof is invalid."
    }

    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode(Data((0..<24).map { _ in UInt8.random(in: .min ... .max, using: &generator) }))
    }
}
