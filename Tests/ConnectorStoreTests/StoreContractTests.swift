import ConnectorDomain
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Testing

/// The store contract: every backend must pass these, unchanged.
@Suite("Store contract")
struct StoreContractTests {
    // MARK: inbox

    @Test(arguments: StoreBackend.available)
    func inboxInsertIsIdempotentByEventIdAndUUID(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        let delivery = InboxDelivery(
            connector: connector, eventId: "delivery-1", receivedAt: t0,
            events: [event("e1", published: at(1)), event("e2", published: at(2))])
        #expect(try await store.insert([delivery]) == [.stored(newEvents: 2, duplicateEvents: 0)])
        // Okta retried the same delivery: acknowledged, nothing stored.
        #expect(try await store.insert([delivery]) == [.duplicateDelivery])
        // A new delivery repeating one event: only the new event is stored.
        let overlap = InboxDelivery(
            connector: connector, eventId: "delivery-2", receivedAt: t0,
            events: [event("e2", published: at(2)), event("e3", published: at(3))])
        #expect(try await store.insert([overlap]) == [.stored(newEvents: 1, duplicateEvents: 1)])
        #expect(try await store.inboxDepth(connector: connector) == 3)
        // The same ids under another connector are separate.
        var other = delivery
        other.connector = "other"
        #expect(try await store.insert([other]) == [.stored(newEvents: 2, duplicateEvents: 0)])
        #expect(try await store.inboxDepth(connector: connector) == 3)
    }

    @Test(arguments: StoreBackend.available)
    func groupCommitOfManyDeliveriesInOneCall(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let deliveries = (0..<50).map { index in
            InboxDelivery(
                connector: connector, eventId: "d\(index % 40)", receivedAt: t0,
                events: [event("u\(index)", published: at(Int64(index)))])
        }
        let results = try await test.store.insert(deliveries)
        #expect(results.filter { $0 == .duplicateDelivery }.count == 10)
        #expect(try await test.store.inboxDepth(connector: connector) == 40)
    }

    @Test(arguments: StoreBackend.available)
    func pendingEventsComeInPublishedOrderAndLeaveWhenApplied(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        // Arrival order differs from published order.
        _ = try await store.insert([
            InboxDelivery(
                connector: connector, eventId: "late", receivedAt: t0, events: [event("c", published: at(30))]),
            InboxDelivery(
                connector: connector, eventId: "early", receivedAt: t0,
                events: [event("a", published: at(10)), event("b", published: at(20))]),
        ])
        let pending = try await store.pendingEvents(connector: connector, limit: 10)
        #expect(pending.map(\.event.uuid) == ["a", "b", "c"])
        #expect(pending[0].event.payloadJSON == #"{"uuid":"a"}"#)
        #expect(pending[0].eventId == "early")
        try await store.markApplied(connector: connector, seqs: [pending[0].seq], at: at(40))
        #expect(try await store.pendingEvents(connector: connector, limit: 10).map(\.event.uuid) == ["b", "c"])
        #expect(try await store.pendingEvents(connector: connector, limit: 1).map(\.event.uuid) == ["b"])
    }

    // MARK: users and outbox

    @Test(arguments: StoreBackend.available)
    func stateAndOutboxAreWrittenTogetherWithGrowingVersions(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        var outcomes = try await store.commit(
            UserWriteBatch(connector: connector, changes: [upsert("00u1")], at: at(1)))
        #expect(outcomes == [.created(version: 1)])
        // The same record again queues nothing.
        outcomes = try await store.commit(UserWriteBatch(connector: connector, changes: [upsert("00u1")], at: at(2)))
        #expect(outcomes == [.unchanged])
        outcomes = try await store.commit(
            UserWriteBatch(connector: connector, changes: [upsert("00u1", title: "Director")], at: at(3)))
        #expect(outcomes == [.updated(version: 2)])
        outcomes = try await store.commit(
            UserWriteBatch(
                connector: connector,
                changes: [.remove(userId: "00u1", reason: .deleted), .remove(userId: "00u9", reason: .deleted)],
                at: at(4)))
        #expect(outcomes == [.removed(version: 3), .alreadyAbsent])
        // Back again after removal: a creation with a higher version, never a reused one.
        outcomes = try await store.commit(UserWriteBatch(connector: connector, changes: [upsert("00u1")], at: at(5)))
        #expect(outcomes == [.created(version: 4)])

        let queue = try await store.pendingOutbox(connector: connector, limit: 100)
        #expect(queue.map(\.version) == [1, 2, 3, 4])
        #expect(queue.map(\.operation) == [.upsert, .upsert, .delete, .upsert])
        #expect(queue.allSatisfy { $0.userId == "00u1" })
        #expect(queue[2].recordJSON == nil)
        let first = try #require(queue[0].recordJSON)
        #expect(first.contains(#""User.JobTitle":"Engineer""#))
        #expect(queue[1].recordJSON?.contains(#""User.JobTitle":"Director""#) == true)

        let user = try #require(try await store.user(connector: connector, id: "00u1"))
        #expect(user.version == 4)
        #expect(user.isPresent)
        #expect(user.snapshot.user.profile["title"] == "Engineer")
        #expect(user.recordHash == UserMapper().record(for: user.snapshot).contentHash)
    }

    @Test(arguments: StoreBackend.available)
    func outboxKeepsOrderAndForgetsOnlyWhatWasForwarded(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        let changes = (1...5).map { upsert("00u\($0)") }
        _ = try await store.commit(UserWriteBatch(connector: connector, changes: changes, at: at(1)))
        let queue = try await store.pendingOutbox(connector: connector, limit: 10)
        #expect(queue.map(\.userId) == ["00u1", "00u2", "00u3", "00u4", "00u5"])
        #expect(try await store.outboxStats(connector: connector) == OutboxStats(depth: 5, oldestCreatedAt: at(1)))

        try await store.markForwarded(connector: connector, seqs: queue.prefix(2).map(\.seq))
        try await store.recordForwardFailure(
            connector: connector, seqs: [queue[2].seq], error: "503 Service Unavailable", nextAttemptAt: at(60))
        let rest = try await store.pendingOutbox(connector: connector, limit: 10)
        #expect(rest.map(\.userId) == ["00u3", "00u4", "00u5"])
        #expect(rest[0].attempts == 1)
        #expect(rest[0].lastError == "503 Service Unavailable")
        #expect(rest[0].nextAttemptAt == at(60))
        #expect(try await store.outboxStats(connector: connector).depth == 3)
    }

    @Test(arguments: StoreBackend.available)
    func deadLettersKeepTheReasonAndReplayToTheEndOfTheQueue(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        _ = try await store.commit(
            UserWriteBatch(connector: connector, changes: [upsert("00u1"), upsert("00u2")], at: at(1)))
        let queue = try await store.pendingOutbox(connector: connector, limit: 10)
        try await store.moveToDeadLetters(
            connector: connector, seqs: [queue[0].seq], reason: "400 Bad Request: attribute too long", at: at(2))
        let letters = try await store.deadLetters(connector: connector, limit: 10)
        #expect(letters.count == 1)
        #expect(letters[0].userId == "00u1")
        #expect(letters[0].reason == "400 Bad Request: attribute too long")
        #expect(letters[0].version == 1)
        #expect(letters[0].recordJSON == queue[0].recordJSON)
        #expect(try await store.pendingOutbox(connector: connector, limit: 10).map(\.userId) == ["00u2"])

        #expect(try await store.replayDeadLetters(connector: connector, ids: nil, at: at(3)) == 1)
        #expect(try await store.deadLetters(connector: connector, limit: 10).isEmpty)
        let replayed = try await store.pendingOutbox(connector: connector, limit: 10)
        #expect(replayed.map(\.userId) == ["00u2", "00u1"])
        #expect(replayed[1].version == 1)
        #expect(replayed[1].attempts == 0)
    }

    @Test(arguments: StoreBackend.available)
    func resendingEveryUserQueuesEachPresentRecordAtItsVersionAndChangesNoUser(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        _ = try await store.commit(
            UserWriteBatch(connector: connector, changes: [upsert("00u1"), upsert("00u2"), upsert("00u3")], at: at(1)))
        _ = try await store.commit(
            UserWriteBatch(connector: connector, changes: [.remove(userId: "00u3", reason: .deleted)], at: at(2)))
        _ = try await store.commit(
            UserWriteBatch(connector: "other", changes: [upsert("00u9")], at: at(2)))
        let queued = try await store.pendingOutbox(connector: connector, limit: 10)
        try await store.markForwarded(connector: connector, seqs: queued.map(\.seq))
        let before = try await store.user(connector: connector, id: "00u1")

        #expect(try await store.requeuePresentUsers(connector: connector, at: at(3)) == 2)
        let resent = try await store.pendingOutbox(connector: connector, limit: 10)
        #expect(resent.map(\.userId) == ["00u1", "00u2"], "present users only, not the removed one")
        #expect(resent.allSatisfy { $0.operation == .upsert && $0.version == 1 && $0.attempts == 0 })
        #expect(resent[0].recordJSON == before?.recordJSON)
        #expect(try await store.user(connector: connector, id: "00u1") == before, "the user is not changed")
        #expect(try await store.outboxStats(connector: "other").depth == 1, "other connectors untouched")
    }

    @Test(arguments: StoreBackend.available)
    func eventsReceivedPerMinuteCountTheEventsOfEachMinutesDeliveries(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        let minute = (t0.millisecondsSinceEpoch / 60_000) * 60_000
        func stamp(_ offset: Int64) -> Timestamp { Timestamp(millisecondsSinceEpoch: minute + offset) }
        _ = try await store.insert([
            InboxDelivery(
                connector: connector, eventId: "a", receivedAt: stamp(1_000),
                events: [event("e1", published: at(1)), event("e2", published: at(1))]),
            InboxDelivery(
                connector: connector, eventId: "b", receivedAt: stamp(59_000), events: [event("e3", published: at(1))]),
            InboxDelivery(
                connector: connector, eventId: "c", receivedAt: stamp(61_000), events: [event("e4", published: at(1))]),
            InboxDelivery(
                connector: connector, eventId: "old", receivedAt: stamp(-120_000),
                events: [event("e5", published: at(1))]),
            InboxDelivery(
                connector: "other", eventId: "d", receivedAt: stamp(1_000), events: [event("e6", published: at(1))]),
        ])
        let counts = try await store.eventsReceivedPerMinute(connector: connector, since: stamp(0))
        #expect(counts == [minute: 3, minute + 60_000: 1])
    }

    @Test(arguments: StoreBackend.available)
    func applyingEventsMarksThemAppliedInTheSameTransaction(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        _ = try await store.insert([
            InboxDelivery(connector: connector, eventId: "d", receivedAt: t0, events: [event("e", published: at(1))])
        ])
        let pending = try await store.pendingEvents(connector: connector, limit: 10)
        _ = try await store.commit(
            UserWriteBatch(
                connector: connector, changes: [upsert("00u1")], appliedInboxEvents: pending.map(\.seq), at: at(2)))
        #expect(try await store.inboxDepth(connector: connector) == 0)
        #expect(try await store.outboxStats(connector: connector).depth == 1)
    }

    @Test(arguments: StoreBackend.available)
    func theSweepPagesThroughPresentUsersNothingTouchedSinceTheRunStarted(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        _ = try await store.commit(
            UserWriteBatch(connector: connector, changes: ["00u1", "00u2", "00u3"].map { upsert($0) }, at: at(1)))
        let run = try await store.startRun(connector: connector, trigger: .schedule, dryRun: false, at: at(10))
        // The run sees 00u1 (unchanged) and 00u2 (changed) ...
        _ = try await store.commit(
            UserWriteBatch(
                connector: connector, changes: [upsert("00u1"), upsert("00u2", title: "VP")], seenInRun: run, at: at(11)
            ))
        // ... while an event creates 00u4 during the run.
        _ = try await store.commit(UserWriteBatch(connector: connector, changes: [upsert("00u4")], at: at(12)))
        _ = try await store.commit(
            UserWriteBatch(connector: connector, changes: [upsert("00u5"), upsert("00u6")], at: at(5)))
        _ = try await store.commit(
            UserWriteBatch(connector: connector, changes: [.remove(userId: "00u5", reason: .deleted)], at: at(6)))
        // Untouched since the run started: 00u3 and 00u6 (00u5 is removed), in id order, page by page.
        #expect(
            try await store.presentUserIds(connector: connector, untouchedSince: at(10), after: nil, limit: 10) == [
                "00u3", "00u6",
            ])
        #expect(
            try await store.presentUserIds(connector: connector, untouchedSince: at(10), after: nil, limit: 1) == [
                "00u3"
            ])
        #expect(
            try await store.presentUserIds(connector: connector, untouchedSince: at(10), after: "00u3", limit: 1) == [
                "00u6"
            ])
        #expect(
            try await store.presentUserIds(connector: connector, untouchedSince: at(10), after: "00u6", limit: 1) == [])
        #expect(try await store.presentUserCount(connector: connector) == 5)
        let page = try await store.presentUsers(connector: connector, after: "00u1", limit: 2)
        #expect(page.map(\.userId) == ["00u2", "00u3"])

        // A held run keeps what it would remove; a later held run's list replaces it.
        #expect(try await store.heldRemovals(connector: connector, runId: run) == nil)
        try await store.recordHeldRemovals(connector: connector, runId: run, userIds: ["00u3", "00u6"])
        #expect(try await store.heldRemovals(connector: connector, runId: run) == ["00u3", "00u6"])
        let later = try await store.startRun(connector: connector, trigger: .schedule, dryRun: false, at: at(20))
        try await store.recordHeldRemovals(connector: connector, runId: later, userIds: [])
        #expect(try await store.heldRemovals(connector: connector, runId: run) == nil)
        #expect(try await store.heldRemovals(connector: connector, runId: later) == [], "kept, and empty")
    }

    @Test(arguments: StoreBackend.available)
    func stagedEnrichmentIsReadBackPerUserAndCleared(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        let box = AssignedApp(appName: "box", label: "Box", instanceId: "0oa1")
        let slack = AssignedApp(appName: "slack", label: "Slack", instanceId: "0oa2")
        let phone = DeviceSummary(
            id: "guo1", name: "Phone", platform: "IOS", osVersion: "18", manufacturer: "APPLE", model: "iPhone",
            serialNumber: nil)
        try await store.stageEnrichment(runId: 7, apps: [("00u1", box), ("00u2", box)], devices: [("00u1", phone)])
        try await store.stageEnrichment(runId: 7, apps: [("00u1", slack)], devices: [])
        try await store.stageEnrichment(runId: 8, apps: [("00u1", slack)], devices: [])
        let staged = try await store.stagedEnrichment(runId: 7, userIds: ["00u1", "00u2", "00u3"])
        #expect(staged["00u1"]?.apps == [box, slack], "in the order they were staged")
        #expect(staged["00u1"]?.devices == [phone])
        #expect(staged["00u2"]?.apps == [box])
        #expect(staged["00u3"] == nil)
        try await store.clearStagedEnrichment(runId: 7)
        #expect(try await store.stagedEnrichment(runId: 7, userIds: ["00u1"]).isEmpty)
        #expect(try await store.stagedEnrichment(runId: 8, userIds: ["00u1"]).count == 1)
    }

    /// A user's snapshot must not depend on where a staging row landed: PostgreSQL reuses the space
    /// of cleared runs, so rows come back by the order they were staged in, not by the heap's.
    @Test(arguments: StoreBackend.available)
    func stagedAppsComeBackInTheOrderTheyWereStagedAcrossRuns(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        let apps = (0..<40).map { AssignedApp(appName: "app\($0)", label: "App \($0)", instanceId: "0oa\($0)") }
        for run in Int64(20)..<Int64(24) {
            let order = run % 2 == 0 ? apps : apps.reversed()
            for chunk in stride(from: 0, to: order.count, by: 7) {
                let part = order[chunk..<min(chunk + 7, order.count)]
                try await store.stageEnrichment(
                    runId: run, apps: part.flatMap { app in ["00u9", "00u1"].map { ($0, app) } }, devices: [])
            }
            let staged = try await store.stagedEnrichment(runId: run, userIds: ["00u1", "00u9"])
            #expect(staged["00u1"]?.apps == Array(order), "run \(run)")
            #expect(staged["00u9"]?.apps == Array(order), "run \(run)")
            try await store.clearStagedEnrichment(runId: run)
        }
    }

    @Test(arguments: StoreBackend.available)
    func recordHashesAreThoseOfPresentUsers(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        _ = try await store.commit(
            UserWriteBatch(connector: connector, changes: [upsert("00u1"), upsert("00u2")], at: at(1)))
        _ = try await store.commit(
            UserWriteBatch(connector: connector, changes: [.remove(userId: "00u2", reason: .deleted)], at: at(2)))
        let hashes = try await store.recordHashes(connector: connector, userIds: ["00u1", "00u2", "00u3"])
        #expect(Array(hashes.keys) == ["00u1"])
        #expect(
            hashes["00u1"]
                == UserMapper().record(
                    for: try #require(try await store.user(connector: connector, id: "00u1")).snapshot
                ).contentHash)
    }

    @Test(arguments: StoreBackend.available)
    func rawDigestsFindUnchangedUsersOnlyWhileTheyStillMatch(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        // A reconcile writes four users with the digests of what they were read from.
        let digests = ["00u1": "d1", "00u2": "d2", "00u3": "d3", "00u4": "d4"]
        let first = try await store.startRun(connector: connector, trigger: .schedule, dryRun: false, at: at(0))
        _ = try await store.commit(
            UserWriteBatch(
                connector: connector, changes: ["00u1", "00u2", "00u3", "00u4"].map { upsert($0) }, seenInRun: first,
                at: at(1), rawDigests: digests))
        #expect(
            try await store.rawDigests(connector: connector, userIds: ["00u1", "00u2", "00u9"]) == [
                "00u1": "d1", "00u2": "d2",
            ])
        // Since then: an event rewrote 00u2 (no digest), 00u3 was removed, and an unchanged upsert
        // from another reconcile stored a new digest for 00u4.
        _ = try await store.commit(
            UserWriteBatch(connector: connector, changes: [upsert("00u2", title: "VP")], at: at(2)))
        _ = try await store.commit(
            UserWriteBatch(connector: connector, changes: [.remove(userId: "00u3", reason: .deleted)], at: at(2)))
        let second = try await store.startRun(connector: connector, trigger: .schedule, dryRun: false, at: at(2))
        let outcomes = try await store.commit(
            UserWriteBatch(
                connector: connector, changes: [upsert("00u4")], seenInRun: second, at: at(2),
                rawDigests: ["00u4": "d4b"])
        )
        #expect(outcomes == [.unchanged])
        #expect(try await store.rawDigests(connector: connector, userIds: ["00u2", "00u3", "00u4"]) == ["00u4": "d4b"])

        let before = try #require(try await store.user(connector: connector, id: "00u1"))
        let unchanged = try await store.unchangedByDigest(
            connector: connector, digests: ["00u1": "d1", "00u2": "d2", "00u3": "d3", "00u4": "d4"])
        #expect(unchanged == ["00u1"], "only a present user whose stored digest is still the listed one")
        let after = try #require(try await store.user(connector: connector, id: "00u1"))
        #expect(after == before, "a read: the user's row is left as it is")
        #expect(try await store.outboxStats(connector: connector).depth == 6, "nothing queued")
        #expect(try await store.user(connector: connector, id: "00u3")?.isPresent == false, "not brought back")
        #expect(try await store.unchangedByDigest(connector: connector, digests: [:]).isEmpty)
    }

    // MARK: runs and schedule

    @Test(arguments: StoreBackend.available)
    func runsAreRecordedWithEveryField(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        let first = try await store.startRun(connector: connector, trigger: .startup, dryRun: false, at: at(1))
        let second = try await store.startRun(connector: connector, trigger: .manual, dryRun: true, at: at(100))
        var record = try #require(try await store.run(id: first))
        #expect(record.outcome == .running)
        #expect(record.trigger == .startup)
        record.endedAt = at(50)
        record.outcome = .held
        record.counts = RunCounts(listed: 1000, created: 3, updated: 7, unchanged: 990, removed: 0)
        record.drift = 4
        record.oktaCalls = ["GET /api/v1/users": 5, "GET /api/v1/apps": 2]
        record.rateLimited = 1
        record.errors = ["would remove 40% of users (more than 20%)"]
        try await store.finishRun(record)
        #expect(try await store.run(id: first) == record)
        let runs = try await store.runs(connector: connector, limit: 10)
        #expect(runs.map(\.id) == [second, first])
        #expect(runs[0].dryRun)
        #expect(try await store.runs(connector: "other", limit: 10).isEmpty)
        // Whether a run's changes reached the sink: unknown until the `reconcile` command records it.
        #expect(runs.allSatisfy { $0.forwarded == nil })
        try await store.recordRunForwarding(id: first, forwarded: false)
        try await store.recordRunForwarding(id: second, forwarded: true)
        #expect(try await store.run(id: first)?.forwarded == false)
        #expect(try await store.runs(connector: connector, limit: 10).map(\.forwarded) == [true, false])
        #expect(try await store.run(id: first)?.counts == record.counts, "nothing else changed")
    }

    @Test(arguments: StoreBackend.available)
    func scheduleStateIsSavedAndReplaced(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        #expect(try await store.scheduleState(connector: connector) == nil)
        let state = ScheduleState(connector: connector, lastDueAt: at(1), lastStartedAt: at(2), nextDueAt: at(86_400))
        try await store.saveScheduleState(state)
        #expect(try await store.scheduleState(connector: connector) == state)
        var later = state
        later.lastSucceededAt = at(3)
        later.nextDueAt = nil
        try await store.saveScheduleState(later)
        #expect(try await store.scheduleState(connector: connector) == later)
        #expect(await store.isReady())
    }

    // MARK: run leases and live run progress

    @Test(arguments: StoreBackend.available)
    func aRunLeaseHasOneHolderUntilReleasedOrExpired(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        let me = ProcessIdentity.current
        // A live process on this host (pid 1 always exists) with another identity.
        let other = ProcessIdentity(host: me.host, pid: 1, incarnation: "other")
        #expect(
            try await store.acquireRunLease(connector: connector, holder: me, at: at(0), expiresAt: at(60)) == .acquired
        )
        #expect(
            try await store.acquireRunLease(connector: connector, holder: me, at: at(1), expiresAt: at(61))
                == .acquired,
            "the holder may take it again")
        let refused = try await store.acquireRunLease(connector: connector, holder: other, at: at(2), expiresAt: at(62))
        guard case .held(let lease) = refused else {
            Issue.record("expected the lease to be held, got \(refused)")
            return
        }
        #expect(lease.holder == me.description)
        #expect(lease.holderIdentity == me)
        #expect(lease.acquiredAt == at(1))
        // Another connector is independent.
        #expect(
            try await store.acquireRunLease(connector: "other", holder: other, at: at(2), expiresAt: at(62))
                == .acquired)
        // Renewed, it does not lapse at the first expiry.
        #expect(try await store.renewRunLease(connector: connector, holder: me, expiresAt: at(120)))
        #expect(try await store.renewRunLease(connector: connector, holder: other, expiresAt: at(120)) == false)
        if case .acquired = try await store.acquireRunLease(
            connector: connector, holder: other, at: at(90), expiresAt: at(150))
        {
            Issue.record("a renewed lease was taken")
        }
        // Released, anyone takes it; releasing someone else's lease does nothing.
        try await store.releaseRunLease(connector: connector, holder: other)
        #expect(try await store.runLease(connector: connector)?.holder == me.description)
        try await store.releaseRunLease(connector: connector, holder: me)
        #expect(try await store.runLease(connector: connector) == nil)
        #expect(
            try await store.acquireRunLease(connector: connector, holder: other, at: at(91), expiresAt: at(151))
                == .acquired)
        // Expired: taken over.
        #expect(
            try await store.acquireRunLease(connector: connector, holder: me, at: at(151), expiresAt: at(211))
                == .acquired)
        #expect(try await store.runLease(connector: connector)?.holder == me.description)
    }

    @Test(arguments: StoreBackend.available)
    func aLeaseOfADeadProcessOnThisHostIsTakenOver(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        let me = ProcessIdentity.current
        // No process has pid 2^31 - 1 here: the holder is gone.
        let dead = ProcessIdentity(host: me.host, pid: Int32.max, incarnation: "gone")
        let elsewhere = ProcessIdentity(host: "another-host", pid: Int32.max, incarnation: "far")
        #expect(
            try await store.acquireRunLease(connector: connector, holder: dead, at: at(0), expiresAt: at(60))
                == .acquired)
        #expect(
            try await store.acquireRunLease(connector: connector, holder: me, at: at(1), expiresAt: at(61)) == .acquired
        )
        // A holder on another host is never judged from here: only its expiry frees the lease.
        #expect(
            try await store.acquireRunLease(connector: "other", holder: elsewhere, at: at(0), expiresAt: at(60))
                == .acquired)
        if case .acquired = try await store.acquireRunLease(
            connector: "other", holder: me, at: at(1), expiresAt: at(61))
        {
            Issue.record("a lease of another host was taken before it expired")
        }
    }

    @Test(arguments: StoreBackend.available)
    func aRunningRunShowsLiveCountsAndAnEndedOneIsNotOverwritten(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        let id = try await store.startRun(connector: connector, trigger: .schedule, dryRun: false, at: at(0))
        var record = RunRecord(id: id, connector: connector, trigger: .schedule, startedAt: at(0))
        record.counts = RunCounts(listed: 400, created: 3, updated: 2, unchanged: 395)
        record.oktaCalls = ["GET /api/v1/users": 2]
        record.rateLimited = 1
        try await store.updateRunProgress(record)
        let live = try #require(try await store.run(id: id))
        #expect(live.outcome == .running)
        #expect(live.counts == record.counts)
        #expect(live.oktaCalls == record.oktaCalls)
        #expect(live.rateLimited == 1)
        #expect(live.owner == ProcessIdentity.current.description, "runs say which process ran them")
        record.outcome = .succeeded
        record.endedAt = at(10)
        record.counts.listed = 500
        try await store.finishRun(record)
        var late = record
        late.counts.listed = 450
        try await store.updateRunProgress(late)
        #expect(try await store.run(id: id)?.counts.listed == 500)
    }

    @Test(arguments: StoreBackend.available)
    func theNewestDeliveryTimeIsKnownToEveryProcess(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        #expect(try await store.latestDeliveryReceived(connector: connector) == nil)
        _ = try await store.insert([
            InboxDelivery(
                connector: connector, eventId: "d1", receivedAt: at(5), events: [event("a", published: at(1))]),
            InboxDelivery(
                connector: connector, eventId: "d2", receivedAt: at(9), events: [event("b", published: at(2))]),
            InboxDelivery(
                connector: "other", eventId: "d3", receivedAt: at(20), events: [event("c", published: at(3))]),
        ])
        #expect(try await store.latestDeliveryReceived(connector: connector) == at(9))
    }
}
