import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import OktaClient
import Testing

/// Credentials that die quietly (SPEC §19): a connector unused for a day makes one cheap call, and
/// Okta's last answer is recorded for `status`, the console and the API. On a manual clock.
@Suite("Okta credentials kept alive (SPEC §19)", .timeLimit(.minutes(2)))
struct OktaKeepAliveTests {
    func start(_ keepAlive: OktaKeepAlive) -> Task<Void, Never> {
        Task { try? await keepAlive.run() }
    }

    /// Waits until the service sleeps again, so that what it did in its round is done.
    func settled(_ clock: ManualClock) async -> Bool {
        await eventually(timeout: 30) { clock.sleeperCount == 1 }
    }

    @Test(arguments: StoreBackend.available)
    func anIdleConnectorCallsOktaOnceADayAndRecordsTheAnswer(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let clock = ManualClock(now: Date(timeIntervalSince1970: 1_800_000_000))
        let okta = InMemoryOkta(clock: clock)
        let keepAlive = OktaKeepAlive(
            connector: "idle-org", credential: "API token (SSWS)", okta: okta, store: test.store, clock: clock,
            logger: quietLogger, interval: 3600)
        let running = start(keepAlive)
        defer { running.cancel() }
        #expect(await settled(clock))
        #expect(okta.calls(InMemoryOkta.Endpoint.listUsers) == 1, "never called: one call at once")
        let first = try #require(try await test.store.oktaContact(connector: "idle-org"))
        #expect(first.lastAcceptedAt == Timestamp(clock.now) && first.rejection == nil)
        // A day of rounds, an hour apart: no second call until the day is over.
        for _ in 0..<23 {
            clock.advance(by: 3600)
            try #require(await settled(clock))
        }
        #expect(okta.calls(InMemoryOkta.Endpoint.listUsers) == 1)
        clock.advance(by: 3600)
        #expect(await settled(clock))
        #expect(okta.calls(InMemoryOkta.Endpoint.listUsers) == 2, "a day later, the next call")
        #expect(try await test.store.oktaContact(connector: "idle-org")?.lastAcceptedAt == Timestamp(clock.now))
    }

    @Test(arguments: StoreBackend.available)
    func aRefusedCredentialIsRecordedWithItsNameAndClearedWhenOktaAcceptsItAgain(_ backend: StoreBackend)
        async throws
    {
        let test = try await backend.makeStore()
        let clock = ManualClock(now: Date(timeIntervalSince1970: 1_800_000_000))
        let okta = InMemoryOkta(clock: clock)
        okta.fail(InMemoryOkta.Endpoint.listUsers, with: .invalidCredentials(summary: "Invalid token provided"))
        let keepAlive = OktaKeepAlive(
            connector: "paused-org", credential: "API token (SSWS)", okta: okta, store: test.store, clock: clock,
            logger: quietLogger)
        let running = start(keepAlive)
        defer { running.cancel() }
        #expect(await settled(clock))
        let refused = try #require(try await test.store.oktaContact(connector: "paused-org")?.rejection)
        #expect(refused.reason.hasPrefix("API token (SSWS): "), "names the credential: \(refused.reason)")
        #expect(refused.reason.contains("Invalid token provided"))
        // The pause's next probe minute: Okta accepts the token again.
        clock.advance(by: 61)
        #expect(await settled(clock))
        #expect(
            await eventually(timeout: 30) {
                (try? await test.store.oktaContact(connector: "paused-org"))??.rejection == nil
            })
        #expect(try await test.store.oktaContact(connector: "paused-org")?.lastAcceptedAt != nil)
    }
}
