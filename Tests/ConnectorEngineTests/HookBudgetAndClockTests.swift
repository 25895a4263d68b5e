import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import OktaClient
import Testing

/// Okta's daily cap of hook events and Okta's clock (SPEC §20), on a manual clock.
@Suite("Hook event budget and Okta's clock", .timeLimit(.minutes(3)))
struct HookBudgetAndClockTests {
    func deliveries(_ count: Int, events: Int, at time: Date, prefix: String) -> [InboxDelivery] {
        (0..<count).map { index in
            InboxDelivery(
                connector: "busy-org", eventId: "\(prefix)-\(index)", receivedAt: Timestamp(time),
                events: (0..<events).map {
                    InboxEvent(
                        uuid: "\(prefix)-\(index)-\($0)", eventType: "user.session.start", subjectUserId: "00u1",
                        published: Timestamp(time), payloadJSON: "{}")
                })
        }
    }

    @Test(arguments: StoreBackend.available)
    func theWatchWarnsOnceAtHalfTheBudgetAndAgainOnlyAfterFallingBack(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let clock = ManualClock(now: Date(timeIntervalSince1970: 1_800_000_000))
        let logs = CapturedLogs()
        let watch = HookEventBudgetWatch(
            connector: "busy-org", budget: 1000, eventTypes: .all, store: test.store, clock: clock,
            logger: logs.logger())
        _ = try await test.store.insert(deliveries(9, events: 50, at: clock.now, prefix: "a"))
        #expect(await watch.check()?.last24h == 450)
        #expect(!logs.contains("half of the daily budget"))
        _ = try await test.store.insert(deliveries(1, events: 50, at: clock.now, prefix: "b"))
        let half = try #require(await watch.check())
        #expect(half.last24h == 500 && half.warning)
        #expect(logs.all.filter { $0.contains("half of the daily budget") }.count == 1)
        #expect(logs.contains("event_hook.event_types: changes"), "the warning says what to do")
        #expect(logs.contains("at the last hour's rate"), "500 in the last hour projects past 1,000")
        // Minutes later, still over half: not repeated.
        clock.advance(by: 600)
        _ = await watch.check()
        #expect(logs.all.filter { $0.contains("half of the daily budget") }.count == 1)
        // Over a day later the window is empty (the hour of those deliveries is wholly out of it);
        // the next time it reaches half, it warns again.
        clock.advance(by: 86_400 + 3600)
        #expect(await watch.check()?.last24h == 0)
        _ = try await test.store.insert(deliveries(10, events: 50, at: clock.now, prefix: "c"))
        _ = await watch.check()
        #expect(logs.all.filter { $0.contains("half of the daily budget") }.count == 2)
    }

    @Test(arguments: StoreBackend.available)
    func oktaClockOffsetIsKeptInTheStoreWhenItMoves(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let clock = ManualClock(now: Date(timeIntervalSince1970: 1_800_000_000))
        let okta = InMemoryOkta(clock: clock)
        okta.setClockOffset(-120.2)
        let keepAlive = OktaKeepAlive(
            connector: "slow-org", credential: "API token (SSWS)", okta: okta, store: test.store, clock: clock,
            logger: quietLogger, interval: 60)
        let running = Task { try? await keepAlive.run() }
        defer { running.cancel() }
        #expect(await eventually(timeout: 30) { clock.sleeperCount == 1 })
        let first = try #require(try await test.store.oktaContact(connector: "slow-org")?.clock)
        #expect(first == OktaClockOffset(seconds: -120.2, measuredAt: Timestamp(clock.now)))
        // Moved by less than a second: not written again within ten minutes.
        okta.setClockOffset(-119.9)
        clock.advance(by: 60)
        #expect(await eventually(timeout: 30) { clock.sleeperCount == 1 })
        #expect(try await test.store.oktaContact(connector: "slow-org")?.clock == first)
        // Okta's clock was put right: written at once.
        okta.setClockOffset(0.3)
        clock.advance(by: 60)
        #expect(
            await eventually(timeout: 30) {
                (try? await test.store.oktaContact(connector: "slow-org")?.clock?.seconds) == 0.3
            })
    }
}
