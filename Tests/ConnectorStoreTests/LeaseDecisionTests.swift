import ConnectorDomain
import ConnectorStore
import Testing

/// Who gets a lease (``RunLeaseDecision``, ``WorkerLeaseDecision``), without a database.
@Suite("Store contract: lease decisions")
struct LeaseDecisionTests {
    let me = ProcessIdentity.current
    /// On another host: never judged gone from here, only its expiry frees its lease.
    let elsewhere = ProcessIdentity(host: "another-host", pid: 100, incarnation: "far")
    /// On this host, with a pid no process has.
    var dead: ProcessIdentity { ProcessIdentity(host: me.host, pid: Int32.max, incarnation: "gone") }

    func runLease(_ holder: ProcessIdentity, expiresAt: Timestamp) -> RunLease {
        RunLease(connector: connector, holder: holder.description, acquiredAt: t0, expiresAt: expiresAt)
    }

    @Test func aRunLeaseIsFreeWhenMissingLapsedMineOrOfADeadProcess() {
        #expect(RunLeaseDecision.claim(current: nil, by: me, at: at(1)) == .acquired)
        let live = runLease(elsewhere, expiresAt: at(60))
        #expect(RunLeaseDecision.claim(current: live, by: me, at: at(59)) == .held(live))
        #expect(RunLeaseDecision.claim(current: live, by: me, at: at(60)) == .acquired, "lapsed at its expiry")
        #expect(RunLeaseDecision.claim(current: live, by: elsewhere, at: at(1)) == .acquired, "the holder again")
        #expect(RunLeaseDecision.claim(current: runLease(dead, expiresAt: at(60)), by: me, at: at(1)) == .acquired)
    }

    @Test func aWorkerLeaseIsRenewedByItsHolderWithTheSameEpoch() {
        let current = WorkerLease(connector: connector, holder: me.description, epoch: 4, expiresAt: at(10))
        let decision = WorkerLeaseDecision.claim(
            current: current, connector: connector, by: me.description, at: at(5), expiresAt: at(15))
        #expect(
            decision == .granted(WorkerLease(connector: connector, holder: me.description, epoch: 4, expiresAt: at(15)))
        )
    }

    @Test func aWorkerLeaseHeldByAnotherLiveHolderStays() {
        let current = WorkerLease(connector: connector, holder: elsewhere.description, epoch: 4, expiresAt: at(10))
        let decision = WorkerLeaseDecision.claim(
            current: current, connector: connector, by: me.description, at: at(9), expiresAt: at(19))
        #expect(decision == .heldByAnother(current))
        #expect(decision.lease == current)
    }

    @Test func aLapsedOrDeadHoldersWorkerLeaseIsTakenWithTheNextEpoch() {
        let lapsed = WorkerLease(connector: connector, holder: elsewhere.description, epoch: 4, expiresAt: at(10))
        #expect(
            WorkerLeaseDecision.claim(
                current: lapsed, connector: connector, by: me.description, at: at(10), expiresAt: at(20))
                == .granted(WorkerLease(connector: connector, holder: me.description, epoch: 5, expiresAt: at(20))))
        let ofTheDead = WorkerLease(connector: connector, holder: dead.description, epoch: 2, expiresAt: at(600))
        #expect(
            WorkerLeaseDecision.claim(
                current: ofTheDead, connector: connector, by: me.description, at: at(1), expiresAt: at(11)
            ).lease.epoch == 3)
    }

    @Test func theFirstWorkerLeaseHasEpochOneWithOrWithoutAPlaceholderRow() {
        let first = WorkerLease(connector: connector, holder: me.description, epoch: 1, expiresAt: at(10))
        #expect(
            WorkerLeaseDecision.claim(
                current: nil, connector: connector, by: me.description, at: at(0), expiresAt: at(10))
                == .granted(first))
        let placeholder = WorkerLease(
            connector: connector, holder: "", epoch: 0, expiresAt: Timestamp(millisecondsSinceEpoch: 0))
        #expect(
            WorkerLeaseDecision.claim(
                current: placeholder, connector: connector, by: me.description, at: at(0), expiresAt: at(10))
                == .granted(first))
    }
}
