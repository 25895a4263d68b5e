import ConnectorApp
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

/// `hooks register` and friends against the simulator's Event Hooks API and the real receiver.
@Suite(.timeLimit(.minutes(3))) struct HookRegistrationTests {
    /// docs/okta-setup.md's setup against the simulator's default app (DPoP required): the hook is
    /// registered and verified, the reconcile runs, and an event Okta delivers is applied, all with
    /// DPoP-bound tokens (SPEC §19).
    @Test func aConnectorSetUpAsTheGuideSaysRegistersItsHookAndTakesEventsWithDPoP() async throws {
        let key = ES256PrivateKey()
        let scopes = [
            "okta.users.read", "okta.apps.read", "okta.devices.read", "okta.groups.read", "okta.eventHooks.manage",
        ]
        let h = try await ApplierHarness.start(users: 20) { options in
            options.serviceApps = [
                SimulatedServiceApp(
                    clientId: "0oaGuide", publicKeyPEM: key.publicKey.pemRepresentation, grantedScopes: Set(scopes))
            ]
        }
        defer { Task { await h.stop() } }
        var settings = h.settings
        settings.okta.credentials = .oauth(
            OAuthServiceApp(clientId: "0oaGuide", privateKey: Secret(key.pemRepresentation), keyId: nil, scopes: scopes)
        )
        settings.enrich.groups = true
        let okta = ConnectorAssembly.oktaClient(
            for: settings, httpClient: h.http, clock: SystemWallClock(), logger: quietLogger)
        let url = URL(string: h.receiver.url("/hooks/okta/test-org"))!
        let registered = try await EventHookRegistrar.register(connector: settings, publicURL: url, client: okta)
        #expect(registered.verificationError == nil)
        #expect(h.simulator.eventHooks.first?.verificationStatus == "VERIFIED")
        #expect(await okta.credentials.usesDPoP)
        let run = try await Reconciler(
            connector: settings, client: okta, store: h.store, clock: SystemWallClock(), logger: quietLogger
        )
        .run(ReconcileOptions(trigger: .manual))
        #expect(run.outcome == .succeeded, "\(run.errors)")
        let applier = EventApplier(
            connector: settings, store: h.store, client: okta, clock: SystemWallClock(), logger: quietLogger,
            coalescingWindow: 0.05)
        let org = h.simulator.org
        let user = try #require(org.allUsers().first { $0.status == .active })
        try org.updateProfile(id: user.id, changes: ["title": "Delivered by Okta"])
        let changed = try #require(org.user(idOrLogin: user.id))
        let expected = settings.mapper.record(for: h.simulator.expectedSnapshot(of: changed, groups: true)).contentHash
        #expect(
            try await eventually(timeout: 60) {
                _ = try await applier.applyPending()
                return try await h.stored(user.id)?.recordHash == expected
            }, "Okta's delivery applied")
        #expect(await okta.credentials.counts.tokensFetched == 1)
    }

    /// The re-pointing attack of SPEC §20: a URL on another port of the same host, with the right
    /// path, is refused before any Okta call when event_hook.public_url is set; the working hook stays.
    @Test func aRegistrationOfAnotherURLThanThePublicURLIsRefused() async throws {
        let h = try await ApplierHarness.start(users: 5)
        defer { Task { await h.stop() } }
        var settings = h.settings
        settings.eventHook.publicURL = URL(string: h.receiver.url("/hooks/okta/test-org"))!
        let logs = CapturedLogs()
        let working = try await EventHookRegistrar.register(
            connector: settings, publicURL: settings.eventHook.publicURL!, client: h.client, logger: logs.logger())
        #expect(working.verificationError == nil)
        #expect(logs.contains("new_url") || logs.contains(settings.eventHook.publicURL!.absoluteString), "\(logs.all)")
        let elsewhere = URL(string: "https://localhost:\(h.receiver.port + 1)/hooks/okta/test-org")!
        await #expect(throws: EventHookRegistrar.Refusal.self) {
            _ = try await EventHookRegistrar.register(connector: settings, publicURL: elsewhere, client: h.client)
        }
        #expect(h.simulator.eventHooks.map(\.channel.config.uri) == [settings.eventHook.publicURL!.absoluteString])
        #expect(h.simulator.eventHooks.first?.verificationStatus == "VERIFIED", "the working hook is untouched")
    }

    @Test func aURLWhosePathIsNotTheConnectorsHookPathIsRefusedBeforeAnyOktaCall() async throws {
        let h = try await ApplierHarness.start(users: 5)
        defer { Task { await h.stop() } }
        let url = URL(string: h.receiver.url("/hooks/okta/another-path"))!
        do {
            _ = try await EventHookRegistrar.register(connector: h.settings, publicURL: url, client: h.client)
            Issue.record("a mismatched path was accepted")
        } catch let refusal as EventHookRegistrar.Refusal {
            #expect(refusal.description.contains("/hooks/okta/another-path"))
            #expect(refusal.description.contains("/hooks/okta/test-org"))
        }
        #expect(h.simulator.eventHooks.isEmpty, "nothing was registered")
    }

    @Test func aFailedUpdateKeepsTheWorkingHookAsItWas() async throws {
        let h = try await ApplierHarness.start(users: 5)
        defer { Task { await h.stop() } }
        let url = URL(string: h.receiver.url("/hooks/okta/test-org"))!
        let working = try await EventHookRegistrar.register(connector: h.settings, publicURL: url, client: h.client)
        #expect(working.verificationError == nil)

        // The listener still holds the old secret, so Okta's verification of the new hook fails.
        var changed = h.settings
        changed.eventHook.secrets = [Secret("a-secret-serve-does-not-know")]
        let failed = try await EventHookRegistrar.register(connector: changed, publicURL: url, client: h.client)
        let advice = try #require(failed.verificationError)
        #expect(advice.contains("publicly trusted"))
        #expect(advice.contains("okta-connector serve"))
        #expect(advice.contains("same secret"))
        #expect(failed.kept.map(\.id) == [working.hook.id])
        #expect(failed.newHookRemoved)
        let hooks = h.simulator.eventHooks
        #expect(hooks.map(\.id) == [working.hook.id], "only the working hook is left")
        #expect(hooks.first?.status == "ACTIVE")
        #expect(hooks.first?.verificationStatus == "VERIFIED")
    }

    @Test func aFailedFirstRegistrationLeavesTheHookUnverifiedToVerifyLater() async throws {
        let h = try await ApplierHarness.start(users: 5)
        defer { Task { await h.stop() } }
        var wrong = h.settings
        wrong.eventHook.secrets = [Secret("a-secret-serve-does-not-know")]
        let url = URL(string: h.receiver.url("/hooks/okta/test-org"))!
        let failed = try await EventHookRegistrar.register(connector: wrong, publicURL: url, client: h.client)
        #expect(failed.verificationError != nil)
        #expect(!failed.newHookRemoved)
        #expect(h.simulator.eventHooks.map(\.verificationStatus) == ["UNVERIFIED"])

        // Registering with the secret serve uses replaces the unverified hook.
        let fixed = try await EventHookRegistrar.register(connector: h.settings, publicURL: url, client: h.client)
        #expect(fixed.verificationError == nil)
        #expect(fixed.replaced.map(\.id) == [failed.hook.id])
        #expect(h.simulator.eventHooks.map(\.verificationStatus) == ["VERIFIED"])
    }

    @Test func removeDeactivatesAndDeletesAHook() async throws {
        let h = try await ApplierHarness.start(users: 5)
        defer { Task { await h.stop() } }
        let url = URL(string: h.receiver.url("/hooks/okta/test-org"))!
        let registered = try await EventHookRegistrar.register(connector: h.settings, publicURL: url, client: h.client)
        let id = try #require(registered.hook.id)
        #expect(try await h.client.eventHook(id: id).status == "ACTIVE")
        #expect(EventHookRegistrar.pathMatches(registered.hook, connector: h.settings))
        try await EventHookRegistrar.remove(id: id, client: h.client)
        #expect(h.simulator.eventHooks.isEmpty)
        await #expect(throws: OktaError.self) { try await h.client.eventHook(id: id) }
    }
}
