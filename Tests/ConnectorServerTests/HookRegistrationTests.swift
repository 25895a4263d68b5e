import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import Foundation
import OktaClient
import OktaSimulator
import Testing

/// `hooks register` and friends against the simulator's Event Hooks API and the real receiver.
@Suite struct HookRegistrationTests {
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
