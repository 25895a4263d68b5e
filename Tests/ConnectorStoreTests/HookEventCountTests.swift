import ConnectorDomain
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Testing

/// The hourly counts of hook events (Okta's daily cap is the org's), Okta's clock offset and the
/// records a reconcile compares: on every backend.
@Suite("Hook event counts, Okta's clock")
struct HookEventCountTests {
    /// An hour's start a little before `t0`.
    static let hour = HourlyEventCount.hour(of: t0)

    func delivery(_ id: String, events: Int, at time: Timestamp, discarded: Bool = false) -> InboxDelivery {
        InboxDelivery(
            connector: connector, eventId: id, receivedAt: time,
            events: (0..<events).map { event("\(id)-\($0)", published: time) }, discarded: discarded)
    }

    @Test(arguments: StoreBackend.available)
    func newDeliveriesCountByHourAndDuplicatesDoNot(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        let nextHour = Timestamp(millisecondsSinceEpoch: Self.hour.millisecondsSinceEpoch + 3_600_000 + 5_000)
        _ = try await store.insert([
            delivery("a", events: 3, at: t0), delivery("b", events: 2, at: t0), delivery("a", events: 3, at: t0),
        ])
        // Okta's retry of a stored delivery, and a new delivery in the next hour.
        _ = try await store.insert([delivery("b", events: 2, at: t0), delivery("c", events: 4, at: nextHour)])
        // An inactive connector's delivery: counted, remembered, its events not stored.
        let discarded = try await store.insert([delivery("d", events: 5, at: nextHour, discarded: true)])
        #expect(discarded == [.stored(newEvents: 0, duplicateEvents: 0)])
        #expect(
            try await store.insert([delivery("d", events: 5, at: nextHour, discarded: true)]) == [.duplicateDelivery])
        #expect(try await store.inboxDepth(connector: connector) == 9)
        let counts = try await store.hookEventCounts(connector: connector, since: t0)
        #expect(
            counts == [
                HourlyEventCount(hour: Self.hour, events: 5),
                HourlyEventCount(
                    hour: Timestamp(millisecondsSinceEpoch: Self.hour.millisecondsSinceEpoch + 3_600_000), events: 9),
            ])
        #expect(try await store.hookEventCounts(connector: "other", since: t0).isEmpty)
        // Pruning keeps two days of counts.
        let later = Timestamp(millisecondsSinceEpoch: nextHour.millisecondsSinceEpoch + 47 * 3_600_000)
        _ = try await store.prune(
            RetentionHorizons(dedupeWindow: 86_400_000, failedEvents: 1, deadLetters: 1, runs: 1, keepRuns: 1),
            now: later)
        #expect(try await store.hookEventCounts(connector: connector, since: t0).map(\.events) == [9])
    }

    @Test(arguments: StoreBackend.available)
    func oktaClockOffsetKeepsTheNewestMeasurement(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        #expect(try await store.oktaContact(connector: connector) == nil)
        try await store.recordOktaClock(
            connector: connector, offset: OktaClockOffset(seconds: -120.4, measuredAt: at(10)))
        // An older measurement (another replica's, late) does not replace it.
        try await store.recordOktaClock(connector: connector, offset: OktaClockOffset(seconds: 3, measuredAt: at(5)))
        try await store.recordOktaContact(connector: connector, acceptedAt: at(11), rejection: nil)
        try await store.recordHookWarning(connector: connector, warning: "deactivate it")
        let contact = try #require(try await store.oktaContact(connector: connector))
        #expect(contact.clock == OktaClockOffset(seconds: -120.4, measuredAt: at(10)))
        #expect(contact.lastAcceptedAt == at(11))
        #expect(contact.hookWarning == "deactivate it")
        try await store.recordHookWarning(connector: connector, warning: nil)
        #expect(try await store.oktaContact(connector: connector)?.hookWarning == nil)
        #expect(try await store.oktaContact(connector: connector)?.clock?.seconds == -120.4, "the rest is kept")
    }

    @Test(arguments: StoreBackend.available)
    func recordsOfPresentUsers(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        _ = try await store.commit(
            UserWriteBatch(connector: connector, changes: [upsert("00u1"), upsert("00u2")], at: t0))
        _ = try await store.commit(
            UserWriteBatch(connector: connector, changes: [.remove(userId: "00u2", reason: .deleted)], at: t0))
        let records = try await store.records(connector: connector, userIds: ["00u1", "00u2", "00u3"])
        #expect(Array(records.keys) == ["00u1"])
        #expect(records["00u1"]?.contains("\"User.JobTitle\":\"Engineer\"") == true)
    }

    @Test(arguments: StoreBackend.available)
    func aRunKeepsItsLastLogonOnlyCount(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        let id = try await store.startRun(connector: connector, trigger: .schedule, dryRun: false, at: t0)
        var run = try #require(try await store.run(id: id))
        run.outcome = .succeeded
        run.endedAt = at(5)
        run.drift = 2
        run.lastLogonUpdates = 17
        try await store.finishRun(run)
        let stored = try #require(try await store.run(id: run.id))
        #expect(stored.lastLogonUpdates == 17)
        #expect(stored.drift == 2)
    }
}

/// The figures `status`, the console and the metrics show from the hourly counts.
@Suite("Hook event budget")
struct HookEventBudgetTests {
    static let hour0 = Date(timeIntervalSince1970: 1_780_002_000)  // an hour's start (a multiple of 3,600)

    func hour(_ offset: Int, _ events: Int) -> HourlyEventCount {
        HourlyEventCount(hour: Timestamp(Self.hour0.addingTimeInterval(Double(offset) * 3600)), events: events)
    }

    @Test func theRollingWindowCountsTheOldestHourInProportion() {
        // Now is 30 minutes into hour 24: the window starts 30 minutes into hour 0.
        let now = Self.hour0.addingTimeInterval(24 * 3600 + 1800)
        let counts = [hour(-1, 999), hour(0, 1000), hour(10, 500), hour(23, 600), hour(24, 300)]
        let figures = HookEventBudget(counts: counts, budget: 10_000, now: now)
        // Half of hour 0, the whole of hours 10 and 23, the current hour so far; hour -1 is out.
        #expect(figures.last24h == 500 + 500 + 600 + 300)
        // The last 60 minutes: half of hour 23 and the current hour so far, times 24.
        #expect(figures.projected24h == (300 + 300) * 24)
        #expect(figures.share == 0.19)
        #expect(!figures.warning)
    }

    @Test func halfTheBudgetWarns() {
        let now = Self.hour0.addingTimeInterval(3600)
        #expect(!HookEventBudget(counts: [hour(0, 49_999)], budget: 100_000, now: now).warning)
        let half = HookEventBudget(counts: [hour(0, 50_000)], budget: 100_000, now: now)
        #expect(half.warning)
        #expect(half.summary.contains("50000 events in the last 24 h, 50.0 % of the daily budget of 100000"))
        #expect(half.summary.contains("over half the budget"))
    }

    @Test func correctedAgeOfAnEventStampedByASlowOkta() {
        // Okta's clock is 120 s behind: an event it stamped 123 s before this host's now is 3 s old.
        let now = Date(timeIntervalSince1970: 1_780_000_000)
        let published = Timestamp(now.addingTimeInterval(-123))
        let offset: OktaClockOffset? = OktaClockOffset(seconds: -120, measuredAt: Timestamp(now))
        #expect(abs(offset.age(of: published, now: now) - 3) < 0.001)
        let unknown: OktaClockOffset? = nil
        #expect(abs(unknown.age(of: published, now: now) - 123) < 0.001)
        #expect(offset?.summary?.hasPrefix("Okta's clock is 120 s behind this host's") == true)
        #expect(OktaClockOffset(seconds: 1.4, measuredAt: Timestamp(now)).summary == nil)
    }
}
