import AsyncHTTPClient
import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import JWTKit
import NIOCore
import NIOHTTP1
import NIOSSL
import OktaClient
import OktaSimulator
import Testing

/// OAuth service apps as Okta creates them today (SPEC §19): DPoP-bound tokens (RFC 9449), a
/// client secret for apps that cannot hold a key, and the `dpop` setting's refusals; over HTTPS
/// against the simulator, whose apps require DPoP by default.
@Suite("Okta OAuth with DPoP over HTTPS (SPEC §19)", .timeLimit(.minutes(2)))
struct DPoPTests {
    static let scopes: Set<String> = ["okta.users.read", "okta.apps.read", "okta.devices.read"]
    /// What docs/okta-setup.md tells operators to grant.
    static let guideScopes = scopes.union(["okta.groups.read"])

    /// A simulator over HTTPS with the given apps, a harness, and an HTTP client that trusts it.
    func withHTTPSConnector(
        users: Int = 120, apps: [SimulatedServiceApp], clock: (any WallClock)? = nil,
        _ body: (ConnectorHarness, HTTPClient) async throws -> Void
    ) async throws {
        let certificate = try SelfSignedCertificate()
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = [
            .certificates(try NIOSSLCertificate.fromPEMBytes(Array(certificate.certificatePEM.utf8)))
        ]
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        do {
            try await run(
                users: users, apps: apps, clock: clock, certificate: certificate, httpClient: httpClient, body)
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
    }

    private func run(
        users: Int, apps: [SimulatedServiceApp], clock: (any WallClock)?, certificate: SelfSignedCertificate,
        httpClient: HTTPClient,
        _ body: (ConnectorHarness, HTTPClient) async throws -> Void
    ) async throws {
        try await withConnector(
            users: users,
            configure: { options in
                options.tls = (certificate.certificatePEM, certificate.privateKeyPEM)
                options.serviceApps = apps
                if let clock { options.baseClock = clock }
            }
        ) { harness in
            #expect(harness.simulator.baseURL.hasPrefix("https://"))
            try await body(harness, httpClient)
        }
    }

    func client(_ harness: ConnectorHarness, _ httpClient: HTTPClient, _ app: OAuthServiceApp) -> OktaAPIClient {
        var settings = harness.settings
        settings.okta.credentials = .oauth(app)
        return ConnectorAssembly.oktaClient(
            for: settings, httpClient: httpClient, clock: SystemWallClock(), logger: quietLogger,
            retry: RetryPolicy(maximumAttempts: 2, initialDelay: 0.01, maximumDelay: 0.05))
    }

    @Test func aConnectorSetUpAsTheGuideSaysReconcilesWithDPoPBoundTokens() async throws {
        let key = ES256PrivateKey()
        let app = SimulatedServiceApp(
            clientId: "0oaDPoP", publicKeyPEM: key.publicKey.pemRepresentation, grantedScopes: Self.guideScopes)
        #expect(app.requireDPoP, "new apps require DPoP, as in Okta")
        try await withHTTPSConnector(apps: [app]) { harness, httpClient in
            let okta = client(
                harness, httpClient,
                OAuthServiceApp(
                    clientId: "0oaDPoP", privateKey: Secret(key.pemRepresentation), keyId: nil,
                    scopes: Self.guideScopes.sorted()))
            let run = try await harness.reconcile(client: okta)
            #expect(run.outcome == .succeeded, "\(run.errors)")
            #expect(try await harness.storedHashes() == harness.expectedHashes())
            let counts = await okta.credentials.counts
            #expect(await okta.credentials.usesDPoP)
            // auto: without a proof (invalid_dpop_proof), with one (use_dpop_nonce), with the nonce.
            #expect(counts.tokenRequests == 3 && counts.nonceRoundTrips == 1 && counts.tokensFetched == 1, "\(counts)")
        }
    }

    @Test func aClientSecretAppGetsABoundTokenAndAWrongSecretIsRefused() async throws {
        let app = SimulatedServiceApp(clientId: "0oaSecret", clientSecret: "s3cr:t+/=", grantedScopes: Self.scopes)
        try await withHTTPSConnector(users: 20, apps: [app]) { harness, httpClient in
            let good = client(
                harness, httpClient,
                OAuthServiceApp(
                    clientId: "0oaSecret", authentication: .clientSecret(Secret("s3cr:t+/=")),
                    scopes: ["okta.users.read"],
                    dpop: .required))
            _ = try await good.user(id: harness.simulator.org.allUsers()[0].id)
            #expect(await good.credentials.counts.tokenRequests == 2, "required: with a proof, then with the nonce")
            let wrong = client(
                harness, httpClient,
                OAuthServiceApp(
                    clientId: "0oaSecret", authentication: .clientSecret(Secret("guess")), scopes: ["okta.users.read"]))
            await #expect(throws: OktaError.self) { _ = try await wrong.user(id: "00u1") }
            // Paused for the refused credentials: asking which scopes are missing (every event with
            // groups on does) makes no token request; the pause's probe is the only one.
            let refused = await wrong.credentials.counts.tokenRequests
            #expect(wrong.pause.current != nil, "calls are paused")
            for _ in 0..<5 { _ = await wrong.missingScopes() }
            #expect(await wrong.credentials.counts.tokenRequests == refused)
        }
    }

    @Test func requiredAgainstABearerAppIsRefusedOnceAndPausesCalls() async throws {
        let key = ES256PrivateKey()
        let app = SimulatedServiceApp(
            clientId: "0oaOld", publicKeyPEM: key.publicKey.pemRepresentation, grantedScopes: Self.scopes,
            requireDPoP: false)
        try await withHTTPSConnector(users: 10, apps: [app]) { harness, httpClient in
            let okta = client(
                harness, httpClient,
                OAuthServiceApp(
                    clientId: "0oaOld", privateKey: Secret(key.pemRepresentation), keyId: nil,
                    scopes: ["okta.users.read"], dpop: .required))
            do {
                _ = try await okta.user(id: "00u1")
                Issue.record("a Bearer token was accepted with dpop: required")
            } catch let error as OktaError {
                #expect("\(error)".contains("dpop: auto"), "says what to do: \(error)")
            }
            let requests = await okta.credentials.counts.tokenRequests
            await #expect(throws: OktaError.self) { _ = try await okta.user(id: "00u1") }
            #expect(await okta.credentials.counts.tokenRequests == requests, "paused: no token request in a loop")
        }
    }

    @Test func offAgainstADPoPAppReportsOktasDescription() async throws {
        let key = ES256PrivateKey()
        let app = SimulatedServiceApp(
            clientId: "0oaDPoP", publicKeyPEM: key.publicKey.pemRepresentation, grantedScopes: Self.scopes)
        try await withHTTPSConnector(users: 10, apps: [app]) { harness, httpClient in
            let okta = client(
                harness, httpClient,
                OAuthServiceApp(
                    clientId: "0oaDPoP", privateKey: Secret(key.pemRepresentation), keyId: nil,
                    scopes: ["okta.users.read"], dpop: .off))
            do {
                _ = try await okta.user(id: "00u1")
                Issue.record("a token without a proof was issued")
            } catch let error as OktaError {
                #expect(
                    "\(error)".contains("invalid_dpop_proof")
                        && "\(error)".contains("The DPoP proof JWT header is missing."))
            }
        }
    }

    /// The simulator refuses what Okta refuses: a bound token as `Bearer`, a replayed proof, a proof
    /// for another token or another URL.
    @Test func boundTokensNeedAFreshProofOfTheirKeyForTheirRequest() async throws {
        let key = ES256PrivateKey()
        let app = SimulatedServiceApp(
            clientId: "0oaDPoP", publicKeyPEM: key.publicKey.pemRepresentation, grantedScopes: Self.scopes)
        try await withHTTPSConnector(users: 10, apps: [app]) { harness, httpClient in
            let okta = client(
                harness, httpClient,
                OAuthServiceApp(
                    clientId: "0oaDPoP", privateKey: Secret(key.pemRepresentation), keyId: nil,
                    scopes: ["okta.users.read"]))
            let url = "\(harness.simulator.baseURL)/api/v1/users?limit=1"
            let headers = try await okta.credentials.headers(method: "GET", url: url)
            let authorization = try #require(headers.first { $0.name == "Authorization" }?.value)
            let proof = try #require(headers.first { $0.name == "DPoP" }?.value)
            #expect(authorization.hasPrefix("DPoP "))
            func get(_ url: String, _ fields: [(String, String)]) async throws -> (Int, String) {
                var request = HTTPClientRequest(url: url)
                for (name, value) in fields { request.headers.add(name: name, value: value) }
                let response = try await httpClient.execute(request, timeout: .seconds(30))
                return (Int(response.status.code), response.headers.first(name: "WWW-Authenticate") ?? "")
            }
            #expect(try await get(url, [("Authorization", authorization), ("DPoP", proof)]).0 == 200)
            let replayed = try await get(url, [("Authorization", authorization), ("DPoP", proof)])
            #expect(replayed.0 == 401 && replayed.1.contains("jti was already used"), "\(replayed)")
            let token = String(authorization.dropFirst(5))
            #expect(try await get(url, [("Authorization", "Bearer \(token)")]).0 == 401, "a bound token as Bearer")
            let other = try await DPoPProofs()
            let foreign = try await other.proof(method: "GET", url: url, accessToken: token, nonce: nil, now: Date())
            let wrongKey = try await get(url, [("Authorization", authorization), ("DPoP", foreign)])
            #expect(wrongKey.0 == 401 && wrongKey.1.contains("not by the token's key"), "\(wrongKey)")
            let elsewhere = try await okta.credentials.headers(
                method: "GET", url: "\(harness.simulator.baseURL)/api/v1/apps")
            let misdirected = try await get(url, elsewhere.map { ($0.name, $0.value) })
            #expect(misdirected.0 == 401 && misdirected.1.contains("htm or htu"), "\(misdirected)")
        }
    }

    /// An app made before groups (no `okta.groups.read`): Okta refuses the whole token request
    /// (`invalid_scope`); the connector asks again without the optional scope, says once which to
    /// grant, works on, and asks for it again a day later (SPEC §19).
    @Test func anAppWithoutTheGroupsScopeKeepsWorkingAndIsAskedAgainDaily() async throws {
        let key = ES256PrivateKey()
        let app = SimulatedServiceApp(
            clientId: "0oaOld", publicKeyPEM: key.publicKey.pemRepresentation, grantedScopes: Self.scopes)
        // One clock for the simulator and the connector: a day passes for both.
        let clock = ManualClock(now: Date())
        try await withHTTPSConnector(apps: [app], clock: clock) { harness, httpClient in
            var settings = harness.settings
            settings.okta.credentials = .oauth(
                OAuthServiceApp(
                    clientId: "0oaOld", privateKey: Secret(key.pemRepresentation), keyId: nil,
                    scopes: Self.scopes.sorted() + ["okta.groups.read"]))
            let logs = CapturedLogs()
            let okta = ConnectorAssembly.oktaClient(
                for: settings, httpClient: httpClient, clock: clock, logger: logs.logger(),
                retry: RetryPolicy(maximumAttempts: 2, initialDelay: 0.01, maximumDelay: 0.05))
            #expect(await okta.missingScopes() == ["okta.groups.read"])
            let first = await okta.credentials.counts
            #expect(first.tokensFetched == 1, "\(first)")
            #expect(logs.contains("okta.groups.read"), "\(logs.all)")
            harness.clock = clock
            let run = try await harness.reconcile(client: okta)
            #expect(run.outcome == .succeeded, "\(run.errors)")
            // Records as a connector without groups writes them: no User.Groups at all.
            harness.settings.enrich.groups = false
            #expect(try await harness.storedHashes() == harness.expectedHashes())
            harness.settings.enrich.groups = true
            #expect(await okta.credentials.counts.tokenRequests == first.tokenRequests, "one token serves the run")
            // A day later the scope is asked for again (still not granted: refused, then without).
            clock.advance(by: 86_400 + 1)
            #expect(await okta.missingScopes() == ["okta.groups.read"])
            let later = await okta.credentials.counts
            #expect(later.tokensFetched == 2)
            #expect(later.tokenRequests >= first.tokenRequests + 2, "asked with the scope, refused, then without")
            // A required scope the app lacks is not hidden: the request fails and names the error.
            settings.okta.credentials = .oauth(
                OAuthServiceApp(
                    clientId: "0oaOld", privateKey: Secret(key.pemRepresentation), keyId: nil,
                    scopes: Self.scopes.sorted() + ["okta.groups.read", "okta.logs.read"]))
            let refused = ConnectorAssembly.oktaClient(
                for: settings, httpClient: httpClient, clock: clock, logger: quietLogger,
                retry: RetryPolicy(maximumAttempts: 1, initialDelay: 0.01, maximumDelay: 0.05))
            await #expect(throws: OktaError.self) { _ = try await refused.user(id: "00unknown") }
            #expect(await refused.missingScopes().isEmpty, "optional scopes are not blamed for a required one")
        }
    }

}
