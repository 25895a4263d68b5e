import ConnectorDomain
import ConnectorStore
import ConnectorTestSupport
import Foundation
import PostgreSQLStore
import SQLiteStore
import Testing

/// What the store keeps so that failures are bounded and visible (SPEC §5, §10): event attempts and
/// failures, crash recovery of runs, retention, and the guard against stale reads.
@Suite("Store contract: failures, recovery and retention")
struct FailureBookkeepingTests {
    func deliver(_ store: any StateStore, _ uuids: [String], receivedAt: Timestamp = t0) async throws -> [Int64] {
        _ = try await store.insert([
            InboxDelivery(
                connector: connector, eventId: "d-\(uuids.joined(separator: "-"))", receivedAt: receivedAt,
                events: uuids.enumerated().map { event($0.element, published: at(Int64($0.offset))) })
        ])
        return try await store.pendingEvents(connector: connector, limit: 100).filter { uuids.contains($0.event.uuid) }
            .map(\.seq)
    }

    @Test(arguments: StoreBackend.available)
    func eventsSetBackWaitUntilDueAndFailedOnesNeverBlockNewerOnes(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        let seqs = try await deliver(store, ["a", "b", "c"])
        try await store.setBack(
            connector: connector,
            [
                InboxSetback(
                    seqs: [seqs[0]], error: "Okta answered 503", disposition: .retry(at: at(60), countsAsAttempt: true)),
                InboxSetback(seqs: [seqs[1]], error: "Okta answered 400", disposition: .fail),
            ], at: at(1))
        // Not due yet: only the untouched event is handed out; the failed one never again.
        #expect(try await store.pendingEvents(connector: connector, limit: 10, dueAt: at(2)).map(\.event.uuid) == ["c"])
        #expect(try await store.nextPendingEventDue(connector: connector) == Timestamp(millisecondsSinceEpoch: 0))
        try await store.markApplied(connector: connector, seqs: [seqs[2]], at: at(2))
        #expect(try await store.nextPendingEventDue(connector: connector) == at(60))
        let due = try await store.pendingEvents(connector: connector, limit: 10, dueAt: at(60))
        #expect(due.map(\.event.uuid) == ["a"])
        #expect(due.first?.attempts == 1)
        // Held back (credentials rejected): due later, no attempt counted.
        try await store.setBack(
            connector: connector,
            [InboxSetback(seqs: [seqs[0]], error: "paused", disposition: .retry(at: at(120), countsAsAttempt: false))],
            at: at(60))
        #expect(try await store.pendingEvents(connector: connector, limit: 10, dueAt: at(120)).first?.attempts == 1)
        #expect(try await store.inboxDepth(connector: connector) == 1, "failed events are not pending")

        let failed = try await store.failedEvents(connector: connector, limit: 10)
        #expect(failed.map(\.uuid) == ["b"])
        #expect(failed.first?.lastError == "Okta answered 400")
        #expect(failed.first?.attempts == 1)
        #expect(try await store.failedEventCount(connector: connector) == 1)
        // Replayed by an operator: pending again, due at once, attempts reset.
        #expect(try await store.retryFailedEvents(connector: connector, seqs: nil, at: at(200)) == 1)
        #expect(try await store.failedEventCount(connector: connector) == 0)
        let replayed = try await store.pendingEvents(connector: connector, limit: 10, dueAt: at(200))
        #expect(replayed.map(\.event.uuid) == ["a", "b"])
        #expect(replayed.last?.attempts == 0)
    }

    @Test(arguments: StoreBackend.available)
    func runsOfDeadProcessesAreMarkedInterruptedAndTheirStagingRemoved(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        let mine = try await store.startRun(connector: connector, trigger: .schedule, dryRun: false, at: t0)
        let orphan = try await store.startRun(connector: connector, trigger: .manual, dryRun: false, at: t0)
        try await store.stageEnrichment(
            runId: orphan, apps: [(userId: "00u1", app: AssignedApp(appName: "box", label: "Box", instanceId: "0oa1"))],
            devices: [])
        // Make the orphan's owner a process that no longer exists on this host.
        let gone = ProcessIdentity(host: ProcessIdentity.current.host, pid: 999_999, incarnation: "gone")
        if let sqlite = store as? SQLiteStateStore {
            try sqlite.setRunOwnerForTesting(runId: orphan, owner: gone)
        } else if let postgres = store as? PostgreSQLStateStore {
            try await postgres.setRunOwnerForTesting(runId: orphan, owner: gone)
        }
        #expect(try await store.interruptAbandonedRuns(at: at(10)) == [orphan])
        #expect(try await store.run(id: orphan)?.outcome == .interrupted)
        #expect(try await store.run(id: orphan)?.endedAt == at(10))
        #expect(try await store.run(id: mine)?.outcome == .running, "this process's own run is left alone")
        #expect(try await store.stagedEnrichment(runId: orphan, userIds: ["00u1"]).isEmpty)
        #expect(try await store.interruptAbandonedRuns(at: at(20)).isEmpty, "once")
    }

    @Test func aProcessIsGoneWhenItsPidIsFreeOrReusedByAnotherIncarnation() {
        let me = ProcessIdentity.current
        #expect(!me.considersGone(me))
        #expect(me.considersGone(nil))
        #expect(me.considersGone(ProcessIdentity(host: me.host, pid: me.pid, incarnation: "older")))
        #expect(me.considersGone(ProcessIdentity(host: me.host, pid: 999_999, incarnation: "x")))
        #expect(!me.considersGone(ProcessIdentity(host: me.host, pid: 1, incarnation: "x")), "pid 1 is alive")
        #expect(!me.considersGone(ProcessIdentity(host: "other-host", pid: 999_999, incarnation: "x")))
        #expect(ProcessIdentity(description: me.description) == me)
        #expect(ProcessIdentity(description: "garbage") == nil)
    }

    @Test(arguments: StoreBackend.available)
    func pruningDeletesOnlyWhatIsPastItsHorizon(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        let day: Int64 = 86_400
        let old = try await deliver(store, ["old-1", "old-2"], receivedAt: at(0))
        let recent = try await deliver(store, ["new-1", "pending"], receivedAt: at(9 * day))
        try await store.markApplied(connector: connector, seqs: old + [recent[0]], at: at(9 * day))
        let failing = try await deliver(store, ["failed"], receivedAt: at(0))
        try await store.setBack(
            connector: connector, [InboxSetback(seqs: failing, error: "400", disposition: .fail)], at: at(0))
        for index in 0..<5 {
            let run = try await store.startRun(connector: connector, trigger: .schedule, dryRun: false, at: at(0))
            try await store.finishRun(
                RunRecord(
                    id: run, connector: connector, trigger: .schedule, startedAt: at(0), endedAt: at(Int64(index)),
                    outcome: .succeeded))
        }
        let horizons = RetentionHorizons(
            dedupeWindow: 7 * day * 1000, failedEvents: 30 * day * 1000, deadLetters: 90 * day * 1000,
            runs: 1 * day * 1000, keepRuns: 2)
        let counts = try await store.prune(horizons, now: at(10 * day))
        #expect(counts.appliedEvents == 2)
        #expect(counts.deliveries == 2, "the old deliveries' ids, not the recent one")
        #expect(counts.failedEvents == 0, "failed 10 days ago, kept 30")
        #expect(counts.runs == 3, "the newest two are kept whatever their age")
        #expect(try await store.runs(connector: connector, limit: 10).count == 2)
        #expect(try await store.pendingEvents(connector: connector, limit: 10).map(\.event.uuid) == ["pending"])
        #expect(try await store.failedEventCount(connector: connector) == 1)
        // A redelivery of a pruned event id is stored again (the window passed); a recent one is not.
        let again = try await store.insert([
            InboxDelivery(
                connector: connector, eventId: "d-new-1-pending", receivedAt: at(10 * day),
                events: [event("new-1", published: at(1))])
        ])
        #expect(again == [.duplicateDelivery])
        let later = try await store.prune(horizons, now: at(41 * day))
        #expect(later.failedEvents == 1)
    }

    @Test(arguments: StoreBackend.available)
    func anOlderReadOfAUserNeverOverwritesANewerOne(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        let newer = upsert("00u1", title: "Director", lastUpdated: at(100))
        let older = upsert("00u1", title: "Engineer", lastUpdated: at(50))
        #expect(
            try await store.commit(UserWriteBatch(connector: connector, changes: [newer], at: at(200))) == [
                .created(version: 1)
            ])
        let run = try await store.startRun(connector: connector, trigger: .schedule, dryRun: false, at: at(150))
        #expect(
            try await store.commit(UserWriteBatch(connector: connector, changes: [older], seenInRun: run, at: at(210)))
                == [.stale])
        let stored = try await store.user(connector: connector, id: "00u1")
        #expect(stored?.snapshot.user.profile["title"] == .string("Director"))
        #expect(stored?.lastSeenRun == run, "a run that listed the user saw it, so it is not swept")
        #expect(try await store.outboxStats(connector: connector).depth == 1)
        #expect(try await store.deadLetterCount(connector: connector) == 0)
    }
}
