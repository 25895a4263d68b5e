import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// Store calls that must answer in time (SPEC §10, §15): a database that went away keeps calls
/// waiting, and the worker lease keeper must still stop its parts before its lease can lapse.
@Suite("Store call deadlines", .timeLimit(.minutes(3)))
struct StoreCallDeadlineTests {
    @Test func aCallThatAnswersInTimeGivesItsValueAndLeavesNoTimerBehind() async throws {
        let clock = ManualClock(now: Date())
        // The call answers only once the deadline's timer sleeps, so a timer left behind shows.
        let value = try await withStoreDeadline(3, clock: clock) {
            _ = await clock.waitForSleepers(1)
            return 42
        }
        #expect(value == 42)
        #expect(clock.totalSleeps == 1, "the deadline's timer did sleep")
        #expect(await eventually(timeout: 30) { clock.sleeperCount == 0 }, "the deadline's timer is gone")
    }

    /// A call through a 3 s deadline to a store that never answers.
    func waitForACallThatNeverAnswers(_ clock: ManualClock) -> Task<Int, any Error> {
        Task {
            try await withStoreDeadline(3, clock: clock) {
                try await Task.sleep(for: .seconds(3600))
                return 0
            }
        }
    }

    @Test func aCallThatNeverAnswersFailsAtTheDeadline() async throws {
        let clock = ManualClock(now: Date())
        let waiting = waitForACallThatNeverAnswers(clock)
        #expect(await clock.waitForSleepers())
        clock.advance(by: 3)
        await #expect(throws: StoreCallTimeout.self) { _ = try await waiting.value }
    }

    @Test func cancellingTheCallerEndsTheWait() async throws {
        let clock = ManualClock(now: Date())
        let waiting = waitForACallThatNeverAnswers(clock)
        #expect(await clock.waitForSleepers())
        waiting.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiting.value }
    }

    /// A lease store that answers the first claim and then never again, as PostgreSQL's pool does
    /// while the server is away.
    final class HangingLeases: WorkerLeases {
        let claims = Mutex(0)

        func claimWorkerLease(connector: String, holder: String, at: Timestamp, expiresAt: Timestamp) async throws
            -> WorkerLease
        {
            let count = claims.withLock {
                $0 += 1
                return $0
            }
            if count > 1 { try await Task.sleep(for: .seconds(3600)) }
            return WorkerLease(connector: connector, holder: holder, epoch: 1, expiresAt: expiresAt)
        }

        func releaseWorkerLease(connector: String, holder: String) async throws {}
        func workerLease(connector: String) async throws -> WorkerLease? { nil }
    }

    /// A lease store that answers every claim after the first only after `delay` seconds of a
    /// clock, as SQLite does behind one long write.
    final class SlowLeases: WorkerLeases {
        let claims = Mutex(0)
        let answered = Mutex(0)
        let clock: ManualClock
        let delay: TimeInterval

        init(clock: ManualClock, delay: TimeInterval) {
            self.clock = clock
            self.delay = delay
        }

        func claimWorkerLease(connector: String, holder: String, at: Timestamp, expiresAt: Timestamp) async throws
            -> WorkerLease
        {
            let count = claims.withLock {
                $0 += 1
                return $0
            }
            // Answers `delay` after the claim was sent (virtual time), however late this task runs.
            if count > 1 { try await clock.sleep(until: at.date.addingTimeInterval(delay)) }
            answered.withLock { $0 += 1 }
            return WorkerLease(connector: connector, holder: holder, epoch: 1, expiresAt: expiresAt)
        }

        func releaseWorkerLease(connector: String, holder: String) async throws {}
        func workerLease(connector: String) async throws -> WorkerLease? { nil }
    }

    /// A worker part that notes when it runs.
    final class Part: Service, Sendable {
        let running = Mutex(false)
        let stopped = Mutex(false)

        func run() async throws {
            running.withLock { $0 = true }
            try? await gracefulShutdown()
            stopped.withLock { $0 = true }
        }
    }

    @Test func theLeaseKeeperStopsItsPartsBeforeTheLeaseLapsesWhenRenewalsHang() async throws {
        let clock = ManualClock(now: Date())
        let start = clock.now
        let part = Part()
        let logger = quietLogger
        let keeper = ConnectorWorkerLease(
            connector: "c", store: HangingLeases(), holder: "this", clock: clock, logger: logger,
            health: ConnectorHealthBoard(), leaseDuration: 10, renewInterval: 3
        ) {
            ServiceGroup(configuration: .init(services: [.init(service: part)], logger: logger))
        }
        let task = Task { await keeper.run() }
        defer { task.cancel() }
        #expect(await eventually(timeout: 30) { part.running.withLock { $0 } }, "the parts run under the lease")
        // Time moves on while every renewal waits for a store that never answers.
        var stoppedAt: Date?
        for _ in 0..<40 {
            // Time moves only once the keeper waits on the clock again, or the parts stopped.
            let waiting = await eventually(timeout: 30) { part.stopped.withLock { $0 } || clock.sleeperCount > 0 }
            guard waiting else { break }  // neither: reported by the #require below
            if part.stopped.withLock({ $0 }) {
                stoppedAt = clock.now
                break
            }
            clock.advance(by: 0.5)
        }
        let stopped = try #require(stoppedAt, "the parts stopped although no renewal ever answered")
        #expect(
            stopped.timeIntervalSince(start) < 10,
            "stopped \(stopped.timeIntervalSince(start)) s in: before the lease lapsed")
    }

    @Test func aStoreThatIsOnlySlowKeepsTheLeaseAndThePartsRunning() async throws {
        let clock = ManualClock(now: Date())
        let part = Part()
        let logger = quietLogger
        // Every renewal answers after 4 s: longer than the renew interval, well within the lease.
        let store = SlowLeases(clock: clock, delay: 4)
        let keeper = ConnectorWorkerLease(
            connector: "c", store: store, holder: "this", clock: clock, logger: logger,
            health: ConnectorHealthBoard(), leaseDuration: 10, renewInterval: 3
        ) {
            ServiceGroup(configuration: .init(services: [.init(service: part)], logger: logger))
        }
        let task = Task { await keeper.run() }
        defer { task.cancel() }
        #expect(await eventually(timeout: 30) { part.running.withLock { $0 } }, "the parts run under the lease")
        for _ in 0..<60 {
            // Time moves only once the keeper settled: waiting for the first renewal (its pause
            // alone), or with one renewal out (the store's wait and the renewal's deadline).
            let settled = await eventually(timeout: 30) {
                let (claims, answered) = (store.claims.withLock { $0 }, store.answered.withLock { $0 })
                let sleepers = clock.sleeperCount
                return part.stopped.withLock { $0 } || (claims == 1 && sleepers == 1)
                    || (claims - answered == 1 && sleepers == 2)
            }
            guard settled, !part.stopped.withLock({ $0 }) else { break }
            clock.advance(by: 0.5)
        }
        #expect(!part.stopped.withLock { $0 }, "30 s of slow renewals did not stop the parts")
        #expect(store.claims.withLock { $0 } >= 6, "renewed all along: \(store.claims.withLock { $0 }) claims")
    }
}
