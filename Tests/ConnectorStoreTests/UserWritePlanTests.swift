import ConnectorDomain
import ConnectorStore
import Testing

/// The write decisions both backends render (``UserWritePlan``), without a database.
@Suite("Store contract: the user write plan")
struct UserWritePlanTests {
    func plan(
        _ changes: [UserChange], existing: [String: ExistingUserRow] = [:], digests: [String: String] = [:]
    ) -> UserWritePlan {
        let batch = UserWriteBatch(connector: connector, changes: changes, at: at(1), rawDigests: digests)
        return UserWritePlan(UserWritePlan.EncodedBatch(batch), existing: existing)
    }

    /// The stored hash and JSON an upsert's record has.
    func canonical(_ change: UserChange) -> (json: String, hash: String) {
        guard case .upsert(_, let record) = change else { return ("", "") }
        return record.canonicalForms
    }

    func present(_ change: UserChange, version: Int64, oktaUpdatedAt: Timestamp = t0) -> ExistingUserRow {
        ExistingUserRow(
            version: version, recordHash: canonical(change).hash, isRemoved: false,
            oktaUpdatedAt: oktaUpdatedAt.millisecondsSinceEpoch)
    }

    @Test func anOlderReadIsStaleAndOnlyMarksTheUserSeen() throws {
        let newer = present(upsert("00u1", title: "Director"), version: 3, oktaUpdatedAt: at(100))
        let decided = plan(
            [upsert("00u1", lastUpdated: at(50))], existing: ["00u1": newer], digests: ["00u1": "d1"])
        #expect(decided.outcomes == [.stale])
        let round = try #require(decided.rounds.first)
        #expect(round.staleUserIds == ["00u1"])
        #expect(round.writes.isEmpty && round.touches.isEmpty && round.removals.isEmpty)
        #expect(round.keptDigests.isEmpty && round.forgottenDigestUserIds.isEmpty, "its digest is left as it was")
        #expect(decided.outbox.isEmpty)
    }

    @Test func aReadAsNewAsTheStoredOneIsNotStale() {
        let change = upsert("00u1", title: "Director", lastUpdated: at(100))
        let stored = present(upsert("00u1"), version: 3, oktaUpdatedAt: at(100))
        #expect(plan([change], existing: ["00u1": stored]).outcomes == [.updated(version: 4)])
    }

    @Test func anUnchangedRecordIsTouchedAndNotQueued() throws {
        let change = upsert("00u1", status: "SUSPENDED", lastUpdated: at(30))
        let decided = plan([change], existing: ["00u1": present(change, version: 3)])
        #expect(decided.outcomes == [.unchanged])
        let round = try #require(decided.rounds.first)
        #expect(round.writes.isEmpty)
        #expect(round.touches.map(\.userId) == ["00u1"])
        #expect(round.touches.first?.status == "SUSPENDED")
        #expect(round.touches.first?.oktaUpdatedAt == at(30).millisecondsSinceEpoch)
        guard case .upsert(let snapshot, _) = change else { return }
        #expect(round.touches.first?.snapshotJSON == snapshot.encodedJSON)
        #expect(decided.outbox.isEmpty)
    }

    @Test func writesGetTheNextVersionAndAreQueuedWithTheirRecord() throws {
        let new = upsert("00u1")
        let changed = upsert("00u2", title: "Director")
        let back = upsert("00u3")
        let removed = ExistingUserRow(version: 7, recordHash: nil, isRemoved: true, oktaUpdatedAt: nil)
        let decided = plan(
            [new, changed, back], existing: ["00u2": present(upsert("00u2"), version: 4), "00u3": removed])
        #expect(decided.outcomes == [.created(version: 1), .updated(version: 5), .created(version: 8)])
        let writes = try #require(decided.rounds.first).writes
        #expect(writes.map(\.userId) == ["00u1", "00u2", "00u3"])
        #expect(writes.map(\.version) == [1, 5, 8])
        #expect(writes[1].recordJSON == canonical(changed).json)
        #expect(writes[1].recordHash == canonical(changed).hash)
        #expect(writes[0].oktaUpdatedAt == t0.millisecondsSinceEpoch)
        #expect(decided.outbox.map(\.operation) == [.upsert, .upsert, .upsert])
        #expect(decided.outbox.map(\.version) == [1, 5, 8])
        #expect(decided.outbox[1].recordJSON == canonical(changed).json)
    }

    @Test func onlyAPresentUserIsRemovedAndItsVersionGrows() throws {
        let removedRow = ExistingUserRow(version: 9, recordHash: nil, isRemoved: true, oktaUpdatedAt: nil)
        let decided = plan(
            [
                .remove(userId: "00u1", reason: .deleted), .remove(userId: "00u2", reason: .notListed),
                .remove(userId: "00u3", reason: .statusNotSelected),
            ],
            existing: ["00u1": present(upsert("00u1"), version: 2), "00u3": removedRow])
        #expect(decided.outcomes == [.removed(version: 3), .alreadyAbsent, .alreadyAbsent])
        let round = try #require(decided.rounds.first)
        #expect(round.removals == [UserWritePlan.Removal(userId: "00u1", version: 3)])
        #expect(round.forgottenDigestUserIds == ["00u1"])
        #expect(decided.outbox.map(\.operation) == [.delete])
        #expect(decided.outbox.first?.version == 3)
        #expect(decided.outbox.first?.recordJSON == nil)
    }

    @Test func writtenAndTouchedUsersKeepTheirDigestOrForgetIt() throws {
        let unchanged = upsert("00u3")
        let undigested = upsert("00u4")
        let decided = plan(
            [upsert("00u1"), upsert("00u2"), unchanged, undigested, .remove(userId: "00u5", reason: .deleted)],
            existing: [
                "00u3": present(unchanged, version: 1), "00u4": present(undigested, version: 1),
                "00u5": present(upsert("00u5"), version: 1),
            ],
            digests: ["00u1": "d1", "00u3": "d3", "00u5": "d5"])
        #expect(
            decided.outcomes == [
                .created(version: 1), .created(version: 1), .unchanged, .unchanged, .removed(version: 2),
            ])
        let round = try #require(decided.rounds.first)
        #expect(
            round.keptDigests == [
                UserWritePlan.KeptDigest(userId: "00u1", digest: "d1"),
                UserWritePlan.KeptDigest(userId: "00u3", digest: "d3"),
            ])
        #expect(round.forgottenDigestUserIds == ["00u2", "00u4", "00u5"], "a removal forgets even a given digest")
    }

    @Test func aUserNamedTwiceIsDecidedAgainInTheNextRoundOnTheFirstResult() throws {
        let first = upsert("00u1")
        let decided = plan(
            [first, upsert("00u2"), upsert("00u1", title: "Director"), .remove(userId: "00u1", reason: .deleted)])
        #expect(
            decided.outcomes == [
                .created(version: 1), .created(version: 1), .updated(version: 2), .removed(version: 3),
            ])
        #expect(decided.rounds.count == 3)
        #expect(decided.rounds[0].writes.map(\.userId) == ["00u1", "00u2"])
        #expect(decided.rounds[1].writes.map(\.userId) == ["00u1"])
        #expect(decided.rounds[1].writes.map(\.version) == [2])
        #expect(decided.rounds[2].removals == [UserWritePlan.Removal(userId: "00u1", version: 3)])
        // The same record twice: the second finds the first written.
        let twice = plan([first, first])
        #expect(twice.outcomes == [.created(version: 1), .unchanged])
        #expect(twice.rounds.map(\.touches.count) == [0, 1])
        // Removed, then back: created with the next version.
        let back = plan(
            [.remove(userId: "00u1", reason: .deleted), first], existing: ["00u1": present(first, version: 4)])
        #expect(back.outcomes == [.removed(version: 5), .created(version: 6)])
    }

    @Test func theOutboxIsInTheBatchsOrderAcrossRounds() {
        let decided = plan([upsert("00u1"), upsert("00u1", title: "Director"), upsert("00u2")])
        #expect(decided.rounds.count == 2)
        #expect(decided.outbox.map(\.userId) == ["00u1", "00u1", "00u2"])
        #expect(decided.outbox.map(\.version) == [1, 2, 1])
    }

    @Test func theRowsToReadAreTheNamedUsersOnceInTheOrderFirstNamed() {
        let batch = UserWriteBatch(
            connector: connector,
            changes: [upsert("00u2"), .remove(userId: "00u1", reason: .deleted), upsert("00u2"), upsert("00u3")],
            at: at(1))
        #expect(UserWritePlan.EncodedBatch(batch).userIds == ["00u2", "00u1", "00u3"])
    }
}
