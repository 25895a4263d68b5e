import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import JWTKit
import OktaClient
import OktaSimulator
import Testing

@Suite("Reconcile under Okta's rate limits and auth", .timeLimit(.minutes(5)))
struct RateLimitedReconcileTests {
    @Test func stormsAreSurvivedWithWaitsComputedFromTheResponseDate() async throws {
        // The simulator's clock is an hour ahead: a client computing the wait from its own clock
        // would wait an hour; from `Date` it waits for the two-second window.
        try await withConnector(
            users: 400,
            configure: { options in
                options.clockSkew = 3600
                options.rateLimits = RateLimitSettings(
                    limits: [OktaBucket.usersList: 4, OktaBucket.apps: 1000, OktaBucket.devices: 1000], window: 2)
            }
        ) { harness in
            harness.simulator.faults = FaultPlan(pathPrefix: "/api/v1/users", rateLimitStorm: 2)
            let started = Date()
            let run = try await harness.reconcile()
            #expect(run.outcome == .succeeded, "\(run.errors)")
            #expect(run.rateLimited >= 2)
            // Waits come from the answers' Date (an hour ahead here), not the local clock: seconds, not
            // an hour. Generous, for a loaded machine.
            #expect(Date().timeIntervalSince(started) < 120)
            #expect(try await harness.storedHashes() == harness.expectedHashes())
        }
    }

    @Test func theRateLimitShareKeepsUseUnderItsShare() async throws {
        try await withConnector(
            users: 1000,
            configure: { options in
                options.rateLimits = RateLimitSettings(
                    limits: [OktaBucket.usersList: 6, OktaBucket.apps: 1000, OktaBucket.devices: 1000], window: 1)
            }
        ) { harness in
            // Five pages of users at 6 a window with a 50% share: at most 3 a window, never a 429.
            let run = try await harness.reconcile()
            #expect(run.outcome == .succeeded)
            #expect(run.rateLimited == 0)
            #expect(run.oktaCalls["GET /api/v1/users"] == 5)
        }
    }

    @Test func theConcurrencyLimitIsSurvived() async throws {
        try await withConnector(
            users: 24, configure: { $0.rateLimits = RateLimitSettings(limits: [:], window: 1, concurrency: 2) },
            plan: .perUser
        ) { harness in
            // Slow answers keep calls in flight, so eight at once overrun a limit of two.
            harness.simulator.faults = FaultPlan(pathPrefix: "/api/v1/users/", slowResponses: 12, slowDelay: 0.1)
            let run = try await harness.reconcile(ReconcileOptions(trigger: .manual, enrichmentConcurrency: 8))
            #expect(run.outcome == .succeeded, "\(run.errors)")
            #expect(run.rateLimited > 0, "the per-user plan ran into the concurrency limit")
            #expect(try await harness.storedHashes() == harness.expectedHashes())
        }
    }

    @Test func anOAuthServiceAppReconcilesWithPrivateKeyJWT() async throws {
        let key = ES256PrivateKey()
        try await withConnector(
            users: 40,
            configure: { options in
                options.serviceApps = [
                    SimulatedServiceApp(
                        clientId: "0oaConnector", publicKeyPEM: key.publicKey.pemRepresentation, keyId: "k1",
                        grantedScopes: ["okta.users.read", "okta.apps.read", "okta.devices.read"])
                ]
            }
        ) { harness in
            harness.settings.okta.credentials = .oauth(
                OAuthServiceApp(
                    clientId: "0oaConnector", privateKey: Secret(key.pemRepresentation), keyId: "k1",
                    scopes: ["okta.users.read", "okta.apps.read", "okta.devices.read"]))
            let run = try await harness.reconcile()
            #expect(run.outcome == .succeeded, "\(run.errors)")
            // Not granted okta.groups.read: records without User.Groups, as a connector without groups.
            harness.settings.enrich.groups = false
            #expect(try await harness.storedHashes() == harness.expectedHashes())
            harness.settings.enrich.groups = true
            // A missing scope fails at once naming it.
            harness.settings.okta.credentials = .oauth(
                OAuthServiceApp(
                    clientId: "0oaConnector", privateKey: Secret(key.pemRepresentation), keyId: "k1",
                    scopes: ["okta.users.read"]))
            let denied = try await harness.reconcile()
            #expect(denied.outcome == .failed)
            #expect(denied.errors.first?.contains("okta.apps.read") == true, "\(denied.errors)")
        }
    }
}
