import ConnectorDomain
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Testing

/// The System Log polling cursor (SPEC §17): stored with the events it brought, on every backend.
@Suite("Store contract: System Log polling cursor")
struct SystemLogCursorTests {
    func page(
        _ events: [InboxEvent], next: String?, missed: Bool = false, at receivedAt: Timestamp = t0
    ) -> PolledEventPage {
        PolledEventPage(
            connector: connector, events: events, nextURL: next, newEventsAreMissedDeliveries: missed,
            receivedAt: receivedAt)
    }

    @Test(arguments: StoreBackend.available)
    func polledEventsEnterTheInboxWithTheCursorAndDedupeWithDeliveries(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        #expect(try await store.systemLogCursor(connector: connector) == nil)
        // A hook delivered e1 before polling read it.
        _ = try await store.insert([
            InboxDelivery(connector: connector, eventId: "d1", receivedAt: t0, events: [event("e1", published: at(1))])
        ])
        let new = try await store.storePolledEvents(
            page(
                [event("e1", published: at(1)), event("e2", published: at(2)), event("e3", published: at(3))],
                next: "https://org/api/v1/logs?after=1", missed: true, at: at(10)))
        #expect(new == ["e2", "e3"], "the event the hook delivered is not stored twice")
        #expect(try await store.inboxDepth(connector: connector) == 3)
        let pending = try await store.pendingEvents(connector: connector, limit: 10)
        #expect(pending.map(\.event.uuid) == ["e1", "e2", "e3"])
        #expect(pending.last?.eventId == PolledEventPage.eventId)
        #expect(pending.last?.event.subjectUserId == "00u1")
        let cursor = try #require(try await store.systemLogCursor(connector: connector))
        #expect(cursor.nextURL == "https://org/api/v1/logs?after=1")
        #expect(cursor.newestPublished == at(3))
        #expect(cursor.newestUUID == "e3")
        #expect(cursor.polledEvents == 2)
        #expect(cursor.missedDeliveries == 2)
        #expect(cursor.lastOutcome == "ok")
        #expect(cursor.lastPollAt == at(10))
        #expect(cursor.lastSucceededAt == at(10))
        // Another connector's cursor is separate.
        #expect(try await store.systemLogCursor(connector: "other") == nil)
    }

    /// The console's events chart counts polled events too (a `system_log` connector has no
    /// deliveries), and an event that both the hook and polling brought once.
    @Test(arguments: StoreBackend.available)
    func eventsPerMinuteCountPolledEventsAndDeliveredOnesOnce(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        let minute = (t0.millisecondsSinceEpoch / 60_000) * 60_000
        func stamp(_ offset: Int64) -> Timestamp { Timestamp(millisecondsSinceEpoch: minute + offset) }
        _ = try await store.insert([
            InboxDelivery(
                connector: connector, eventId: "d1", receivedAt: stamp(1_000), events: [event("e1", published: at(1))])
        ])
        _ = try await store.storePolledEvents(
            page(
                [event("e1", published: at(1)), event("e2", published: at(2)), event("e3", published: at(3))],
                next: "link", at: stamp(2_000)))
        _ = try await store.storePolledEvents(page([event("e4", published: at(4))], next: "link-2", at: stamp(61_000)))
        let counts = try await store.eventsReceivedPerMinute(connector: connector, since: stamp(0))
        #expect(counts == [minute: 3, minute + 60_000: 1])
    }

    @Test(arguments: StoreBackend.available)
    func theCursorMovesForwardOnlyAndAFailedPollKeepsIt(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        _ = try await store.storePolledEvents(page([event("a", published: at(5))], next: "link-1", at: at(10)))
        // A page read again later (events left for their hooks): no link given, the stored one stays;
        // an older event does not move the newest back.
        let again = try await store.storePolledEvents(
            page([event("a", published: at(5)), event("b", published: at(4))], next: nil, at: at(20)))
        #expect(again == ["b"])
        var cursor = try #require(try await store.systemLogCursor(connector: connector))
        #expect(cursor.nextURL == "link-1")
        #expect(cursor.newestPublished == at(5))
        #expect(cursor.newestUUID == "a")
        #expect(cursor.polledEvents == 2)
        #expect(cursor.missedDeliveries == 0, "with system_log alone, nothing counts as a missed delivery")
        // An empty page still records the poll and moves the link.
        #expect(try await store.storePolledEvents(page([], next: "link-2", at: at(30))).isEmpty)
        cursor = try #require(try await store.systemLogCursor(connector: connector))
        #expect(cursor.nextURL == "link-2")
        #expect(cursor.newestPublished == at(5))
        // A failure is recorded, the position stays.
        try await store.recordSystemLogPoll(
            connector: connector, outcome: "failed: malformed page", succeeded: false, at: at(40))
        cursor = try #require(try await store.systemLogCursor(connector: connector))
        #expect(cursor.lastOutcome == "failed: malformed page")
        #expect(cursor.lastPollAt == at(40))
        #expect(cursor.lastSucceededAt == at(30))
        #expect(cursor.nextURL == "link-2")
        #expect(cursor.newestPublished == at(5))
        #expect(cursor.polledEvents == 2)
        // A failure before any success creates the row without a position.
        try await store.recordSystemLogPoll(connector: "fresh", outcome: "failed: 403", succeeded: false, at: at(50))
        let fresh = try #require(try await store.systemLogCursor(connector: "fresh"))
        #expect(fresh.nextURL == nil)
        #expect(fresh.newestPublished == nil)
        #expect(fresh.lastSucceededAt == nil)
    }

    @Test(arguments: StoreBackend.available)
    func aReplicaThatLostTheConnectorNeverMovesTheCursor(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        let a = "host-a 100 aaaa"
        let lease = try await store.claimWorkerLease(connector: connector, holder: a, at: at(0), expiresAt: at(10))
        let fence = WorkerFence(holder: a, epoch: lease.epoch)
        var first = page([event("e1", published: at(1))], next: "https://org/api/v1/logs?after=e1", at: at(1))
        first.fence = fence
        #expect(try await store.storePolledEvents(first) == ["e1"])
        // The lease lapsed and another replica took the connector over; the stale one wakes up.
        _ = try await store.claimWorkerLease(
            connector: connector, holder: "host-b 200 bbbb", at: at(11), expiresAt: at(21))
        var stale = page([event("e0", published: at(0))], next: "https://org/api/v1/logs?after=e0", at: at(12))
        stale.fence = fence
        await #expect(throws: StoreError.fenced(connector: connector, epoch: fence.epoch)) {
            try await store.storePolledEvents(stale)
        }
        #expect(try await store.systemLogCursor(connector: connector)?.nextURL == "https://org/api/v1/logs?after=e1")
        #expect(try await store.inboxDepth(connector: connector) == 1, "nothing of the stale page stored")
    }
}
