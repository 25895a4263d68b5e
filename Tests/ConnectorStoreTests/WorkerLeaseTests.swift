import ConnectorDomain
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Testing

/// The worker lease of several replicas (SPEC §10): one holder per connector, renewed by it, taken
/// over when it lapses, with an epoch that grows at each change of holder.
@Suite("Store contract: worker leases")
struct WorkerLeaseTests {
    @Test(arguments: StoreBackend.available)
    func oneReplicaHoldsTheLeaseUntilItLapsesThenTheEpochGrows(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        let a = "host-a 100 aaaa"
        let b = "host-b 200 bbbb"
        let first = try await store.claimWorkerLease(connector: connector, holder: a, at: at(0), expiresAt: at(10))
        #expect(first == WorkerLease(connector: connector, holder: a, epoch: 1, expiresAt: at(10)))
        // Another replica finds it held.
        let refused = try await store.claimWorkerLease(connector: connector, holder: b, at: at(3), expiresAt: at(13))
        #expect(refused.holder == a)
        // The holder renews: same epoch, later expiry.
        let renewed = try await store.claimWorkerLease(connector: connector, holder: a, at: at(6), expiresAt: at(16))
        #expect(renewed == WorkerLease(connector: connector, holder: a, epoch: 1, expiresAt: at(16)))
        #expect(
            try await store.claimWorkerLease(connector: connector, holder: b, at: at(15), expiresAt: at(25)).holder == a
        )
        // The holder died: the lease lapses and the other replica takes it with a new epoch.
        let takeover = try await store.claimWorkerLease(connector: connector, holder: b, at: at(16), expiresAt: at(26))
        #expect(takeover == WorkerLease(connector: connector, holder: b, epoch: 2, expiresAt: at(26)))
        #expect(try await store.workerLease(connector: connector) == takeover)
        // The old holder comes back: it is refused, it does not work next to the new one.
        #expect(
            try await store.claimWorkerLease(connector: connector, holder: a, at: at(17), expiresAt: at(27)).holder == b
        )
        // Released at shutdown: taken at once, the epoch still grows.
        try await store.releaseWorkerLease(connector: connector, holder: b)
        let next = try await store.claimWorkerLease(connector: connector, holder: a, at: at(18), expiresAt: at(28))
        #expect(next.holder == a)
        #expect(next.epoch == 3)
        // Leases are per connector.
        #expect(
            try await store.claimWorkerLease(connector: "other", holder: b, at: at(18), expiresAt: at(28)).holder == b)
    }

    @Test(arguments: StoreBackend.available)
    func aLeaseOfADeadProcessOnThisHostIsTakenAtOnce(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        let me = ProcessIdentity.current
        let dead = ProcessIdentity(host: me.host, pid: 999_999, incarnation: "gone").description
        _ = try await store.claimWorkerLease(connector: connector, holder: dead, at: at(0), expiresAt: at(600))
        let mine = try await store.claimWorkerLease(
            connector: connector, holder: me.description, at: at(1), expiresAt: at(11))
        #expect(mine.holder == me.description, "a restarted process need not wait for the lease to lapse")
        #expect(mine.epoch == 2)
    }

    @Test(arguments: StoreBackend.available)
    func aWriteOfAReplicaThatLostItsLeaseIsRefused(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        let a = "host-a 100 aaaa"
        let b = "host-b 200 bbbb"
        let lease = try await store.claimWorkerLease(connector: connector, holder: a, at: at(0), expiresAt: at(10))
        let fence = WorkerFence(holder: a, epoch: lease.epoch)
        let written = try await store.commit(
            UserWriteBatch(connector: connector, changes: [upsert("00u1")], at: at(1), fence: fence))
        #expect(written == [.created(version: 1)])
        // A stalled holder: its lease lapsed and another replica took over (epoch 2).
        _ = try await store.claimWorkerLease(connector: connector, holder: b, at: at(11), expiresAt: at(21))
        await #expect(throws: StoreError.fenced(connector: connector, epoch: fence.epoch)) {
            try await store.commit(
                UserWriteBatch(
                    connector: connector, changes: [upsert("00u1", title: "Stale")], at: at(12), fence: fence))
        }
        #expect(try await store.user(connector: connector, id: "00u1")?.snapshot.user.profile["title"] == "Engineer")
        #expect(try await store.outboxStats(connector: connector).depth == 1, "nothing queued by the stale write")
        // Past its own expiry a holder is refused too, even before anyone took over.
        let other = "other-connector"
        let own = try await store.claimWorkerLease(connector: other, holder: a, at: at(0), expiresAt: at(10))
        await #expect(throws: StoreError.fenced(connector: other, epoch: own.epoch)) {
            try await store.commit(
                UserWriteBatch(
                    connector: other, changes: [upsert("00u2")], at: at(10),
                    fence: WorkerFence(holder: a, epoch: own.epoch)))
        }
    }

    @Test(arguments: StoreBackend.available)
    func aRunsWriteIsRefusedOnceItsRunLeaseLapsedOrPassedToAnotherProcess(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        // Run leases are wall-clock times shared between processes.
        let now = Timestamp(Date())
        func later(_ seconds: Int64) -> Timestamp {
            Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch + seconds * 1000)
        }
        let a = ProcessIdentity(host: "host-a", pid: 100, incarnation: "aaaa")
        let b = ProcessIdentity(host: "host-b", pid: 200, incarnation: "bbbb")
        #expect(
            try await store.acquireRunLease(connector: connector, holder: a, at: now, expiresAt: later(60))
                == .acquired)
        let fence = RunFence(holder: a.description)
        let written = try await store.commit(
            UserWriteBatch(connector: connector, changes: [upsert("00u1")], at: at(1), runFence: fence))
        #expect(written == [.created(version: 1)])
        // The lease passes to another process (the first hung past it and was taken over).
        try await store.releaseRunLease(connector: connector, holder: a)
        #expect(
            try await store.acquireRunLease(connector: connector, holder: b, at: now, expiresAt: later(60))
                == .acquired)
        await #expect(throws: StoreError.runFenced(connector: connector, holder: a.description)) {
            try await store.commit(
                UserWriteBatch(
                    connector: connector, changes: [upsert("00u1", title: "Stale")], at: at(2), runFence: fence))
        }
        #expect(try await store.user(connector: connector, id: "00u1")?.snapshot.user.profile["title"] == "Engineer")
        // A lapsed lease, even one nobody took, admits no write of its run either.
        let other = "other-connector"
        #expect(
            try await store.acquireRunLease(
                connector: other, holder: a, at: later(-120), expiresAt: later(-60)) == .acquired)
        await #expect(throws: StoreError.runFenced(connector: other, holder: a.description)) {
            try await store.commit(
                UserWriteBatch(connector: other, changes: [upsert("00u2")], at: at(3), runFence: fence))
        }
        #expect(try await store.user(connector: other, id: "00u2") == nil)
    }
}
