import ConnectorConfiguration
import ConnectorDomain
import ConnectorServer
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Testing

/// Okta's daily cap of hook events is the org's (SPEC §20): what the receiver counts over HTTPS,
/// and what `status`, the console and the API make of it.
@Suite("Hook events against the daily budget, over HTTPS", .timeLimit(.minutes(3)))
struct HookBudgetReceiverTests {
    @Test(arguments: StoreBackend.available)
    func deliveriesCountOnceAndAnInactiveConnectorsCountToo(_ backend: StoreBackend) async throws {
        let harness = try await ReceiverHarness(
            connectors: [connectorSettings(), connectorSettings(slug: "paused-org", active: false)], backend: backend)
        defer { Task { await harness.stop() } }
        for index in 0..<4 {
            let body = delivery(
                id: "delivery-\(index)",
                (0..<25).map { logEvent("user.session.start", user: "00u\(index)", uuid: "e-\(index)-\($0)") })
            #expect(try await harness.deliver(body).status == 200)
        }
        // Okta retries a delivery it got no answer to: acknowledged, not counted again.
        let retried = delivery(
            id: "delivery-0", (0..<25).map { logEvent("user.session.start", user: "00u0", uuid: "e-0-\($0)") })
        #expect(try await harness.deliver(retried).status == 200)
        // An inactive connector's deliveries are discarded, but Okta counted them against its cap.
        let discarded = delivery(id: "paused-1", [logEvent("user.session.start", user: "00u9")])
        #expect(try await harness.deliver(discarded, to: "/hooks/okta/paused-org").status == 200)
        #expect(try await harness.inboxDepth("paused-org") == 0)

        let now = Date()
        let active = try await harness.store.hookEventBudget(connector: "test-org", budget: 150, now: now)
        #expect(active.last24h == 100)
        #expect(active.projected24h == 2400)
        #expect(active.warning, "100 of a budget of 150 is past half")
        #expect(try await harness.store.hookEventBudget(connector: "paused-org", budget: 150, now: now).last24h == 1)

        // What status (CLI), the API and the console show: read from the store alone.
        let status = try await StatusReport.connector(
            store: harness.store, name: "test-org", slug: "test-org", server: "Cloud", active: true,
            oktaURL: "https://example.okta.com", statuses: ["ACTIVE"], schedule: "daily",
            hookPath: "/hooks/okta/test-org",
            lastDelivery: nil, dailyBudget: 150, now: now)
        #expect(status.hookEvents == active)
        #expect(
            status.hookEvents?.summary.hasPrefix("100 events in the last 24 h, 66.7 % of the daily budget of 150")
                == true)
    }

    /// An event 3 s old by this host's clock, stamped by an Okta whose clock is 120 s behind.
    @Test func theLagOfAnEventIsCorrectedForOktasClock() async throws {
        let test = try await StoreBackend.sqlite.makeStore()
        let now = Date()
        let published = Timestamp(now.addingTimeInterval(-3 - 120))
        try await test.store.recordOktaClock(
            connector: "slow-org", offset: OktaClockOffset(seconds: -120, measuredAt: Timestamp(now)))
        _ = try await test.store.storePolledEvents(
            PolledEventPage(
                connector: "slow-org",
                events: [
                    InboxEvent(
                        uuid: "late-1", eventType: "user.session.start", subjectUserId: "00u1", published: published,
                        payloadJSON: "{}")
                ], nextURL: "https://example.okta.com/api/v1/logs?after=1", newEventsAreMissedDeliveries: false,
                receivedAt: Timestamp(now)))
        let status = try await StatusReport.connector(
            store: test.store, name: "slow-org", slug: "slow-org", server: "Cloud", active: true,
            oktaURL: "https://example.okta.com", statuses: ["ACTIVE"], schedule: "daily",
            hookPath: "/hooks/okta/slow-org",
            lastDelivery: nil, eventSource: "system_log", now: now)
        let cursor = try #require(status.systemLog)
        let newest = try #require(cursor.newestPublished)
        #expect(Int(status.oktaClock.age(of: newest, now: now).rounded()) == 3)
        #expect(Int(Optional<OktaClockOffset>.none.age(of: newest, now: now).rounded()) == 123, "uncorrected")
        #expect(status.oktaClock?.summary?.hasPrefix("Okta's clock is 120 s behind this host's") == true)
    }
}
