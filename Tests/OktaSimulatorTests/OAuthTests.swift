import ConnectorDomain
import ConnectorTestSupport
import Foundation
import JWTKit
import NIOHTTP1
import OktaSimulator
import Synchronization
import Testing

@Suite("Simulator: OAuth 2.0 service apps", .timeLimit(.minutes(3)))
struct OAuthTests {
    struct Assertion: JWTPayload {
        let iss: IssuerClaim
        let sub: SubjectClaim
        let aud: AudienceClaim
        let exp: ExpirationClaim
        let jti: IDClaim
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    func assertion(
        key: ES256PrivateKey, clientId: String, audience: String, expires: Date = Date().addingTimeInterval(300)
    )
        async throws -> String
    {
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: key, kid: "key-1")
        return try await keys.sign(
            Assertion(
                iss: .init(value: clientId), sub: .init(value: clientId), aud: .init(value: [audience]),
                exp: .init(value: expires), jti: .init(value: UUID().uuidString)), kid: "key-1")
    }

    func tokenRequest(_ simulator: OktaSimulator, assertion: String, scope: String) async throws -> TestResponse {
        let form =
            "grant_type=client_credentials&scope=\(scope.replacingOccurrences(of: " ", with: "+"))"
            + "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
            + "&client_assertion=\(assertion)"
        return try await request(
            "\(simulator.baseURL)/oauth2/v1/token", method: .POST, token: nil, body: form,
            headers: [("Content-Type", "application/x-www-form-urlencoded")])
    }

    /// An app created before DPoP became Okta's default (DPoP switched off): plain Bearer tokens.
    @Test func privateKeyJWTGetsAnHourLongBearerTokenWithItsScopes() async throws {
        let key = ES256PrivateKey()
        let other = ES256PrivateKey()
        try await withSimulator(
            users: 10,
            configure: { options in
                options.serviceApps = [
                    SimulatedServiceApp(
                        clientId: "0oaService", publicKeyPEM: key.publicKey.pemRepresentation, keyId: "key-1",
                        grantedScopes: ["okta.users.read", "okta.apps.read"], requireDPoP: false)
                ]
            }
        ) { simulator in
            let audience = "\(simulator.baseURL)/oauth2/v1/token"
            let good = try await assertion(key: key, clientId: "0oaService", audience: audience)
            let issued = try await tokenRequest(simulator, assertion: good, scope: "okta.users.read")
            #expect(issued.status == 200, "\(issued.text)")
            #expect(issued.json["token_type"] == "Bearer")
            #expect(issued.json["expires_in"] == 3600)
            let token = try #require(issued.json["access_token"]?.stringValue)
            let users = try await request("\(simulator.baseURL)/api/v1/users?limit=1", authorization: "Bearer \(token)")
            #expect(users.status == 200)
            // Scopes are enforced per endpoint.
            let apps = try await request("\(simulator.baseURL)/api/v1/apps", authorization: "Bearer \(token)")
            #expect(apps.status == 403)
            #expect(apps.json["errorCode"] == "E0000006")
            #expect(apps.header("WWW-Authenticate")?.contains("insufficient_scope") == true)
            // A scope the app was not granted, a wrong key, a wrong audience, an expired assertion.
            #expect(try await tokenRequest(simulator, assertion: good, scope: "okta.devices.read").status == 400)
            let forged = try await assertion(key: other, clientId: "0oaService", audience: audience)
            #expect(try await tokenRequest(simulator, assertion: forged, scope: "okta.users.read").status == 401)
            let elsewhere = try await assertion(key: key, clientId: "0oaService", audience: "https://elsewhere/token")
            #expect(try await tokenRequest(simulator, assertion: elsewhere, scope: "okta.users.read").status == 401)
            let expired = try await assertion(
                key: key, clientId: "0oaService", audience: audience, expires: Date().addingTimeInterval(-60))
            #expect(try await tokenRequest(simulator, assertion: expired, scope: "okta.users.read").status == 401)
        }
    }
}
