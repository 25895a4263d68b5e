import ConnectorDomain
import ConnectorEngine
import ConnectorTestSupport
import Foundation
import ServiceLifecycle
import Synchronization
import Testing

/// Supervision (SPEC §11): a part that fails is logged, shown as restarting and restarted with
/// backoff; a part that may finish is left ended; nothing escapes to the other parts.
@Suite("Supervision", .timeLimit(.minutes(3)))
struct SupervisionTests {
    /// A service that fails its first `failures` runs, then runs until shutdown.
    final class FlakyService: Service, Sendable {
        let failures: Int
        let runs = Mutex(0)

        init(failures: Int) { self.failures = failures }

        func run() async throws {
            let run = runs.withLock { runs -> Int in
                runs += 1
                return runs
            }
            if run <= failures { throw CocoaError(.fileReadNoPermission) }
            try? await gracefulShutdown()
        }
    }

    struct Group {
        let group: ServiceGroup
        let task: Task<Void, any Error>

        init(_ services: [any Service]) {
            let group = ServiceGroup(
                configuration: .init(
                    services: services.map { .init(service: $0) }, gracefulShutdownSignals: [], logger: quietLogger))
            self.group = group
            task = Task { try await group.run() }
        }

        func stop() async throws {
            await group.triggerGracefulShutdown()
            try await task.value
        }
    }

    @Test func aFailingPartIsRestartedWithBackoffAndShownAsRestarting() async throws {
        let clock = ManualClock(now: Date())
        let health = ConnectorHealthBoard()
        let flaky = FlakyService(failures: 2)
        let steady = FlakyService(failures: 0)
        let group = Group([
            SupervisedService(name: "forwarder", service: flaky, health: health, clock: clock, logger: quietLogger),
            SupervisedService(name: "applier", service: steady, health: health, clock: clock, logger: quietLogger),
        ])
        #expect(await eventually { flaky.runs.withLock { $0 } == 1 && clock.sleeperCount == 1 })
        #expect(health.health.state == "restarting")
        #expect(health.health.reason?.contains("forwarder") == true)
        clock.advance(by: 1)
        #expect(await eventually { flaky.runs.withLock { $0 } == 2 && clock.sleeperCount == 1 })
        // The second backoff is longer than the first (1 s, then 2 s, with jitter between half and all).
        let wait = try #require(clock.nextDeadline).timeIntervalSince(clock.now)
        #expect(wait >= 1 && wait <= 2)
        clock.advance(by: 2)
        #expect(await eventually { flaky.runs.withLock { $0 } == 3 })
        #expect(await eventually { health.health == .running })
        #expect(steady.runs.withLock { $0 } == 1, "the other part was never touched")
        try await group.stop()
    }

    @Test func aPartThatMayFinishIsLeftEndedWithoutStoppingTheOthers() async throws {
        struct Done: Service { func run() async throws {} }
        let clock = ManualClock(now: Date())
        let health = ConnectorHealthBoard()
        let steady = FlakyService(failures: 0)
        let group = Group([
            SupervisedService(
                name: "scheduler", service: Done(), mayFinish: true, health: health, clock: clock, logger: quietLogger),
            SupervisedService(name: "forwarder", service: steady, health: health, clock: clock, logger: quietLogger),
        ])
        #expect(await eventually { steady.runs.withLock { $0 } == 1 })
        #expect(clock.sleeperCount == 0, "no restart")
        #expect(health.health == .running)
        try await group.stop()
        #expect(steady.runs.withLock { $0 } == 1)
    }

    /// A service stuck in a call that ignores cancellation, until `release()`.
    final class StuckService: Service, Sendable {
        let waiting = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let entered = Mutex(false)

        func run() async throws {
            await withCheckedContinuation { continuation in
                waiting.withLock { $0 = continuation }
                entered.withLock { $0 = true }
            }
        }

        func release() { waiting.withLock { $0 }?.resume() }
    }

    @Test func aPartStuckInACallThatIgnoresCancellationIsLeftBehindSoTheGroupEnds() async throws {
        let clock = ManualClock(now: Date())
        let health = ConnectorHealthBoard()
        let stuck = StuckService()
        defer { stuck.release() }
        let group = Group([
            SupervisedService(name: "forwarder", service: stuck, health: health, clock: clock, logger: quietLogger)
        ])
        #expect(await eventually { stuck.entered.withLock { $0 } })
        group.task.cancel()
        // The part does not end; once it had its time, the group ends without it.
        #expect(await clock.waitForSleepers(1), "the part has its time to end")
        #expect(clock.nextDeadline == clock.now.addingTimeInterval(SupervisedService.abandonAfter))
        let ended = Atomic(false)
        let waiter = Task {
            _ = try? await group.task.value
            ended.store(true, ordering: .relaxed)
        }
        defer { waiter.cancel() }
        clock.advance(by: SupervisedService.abandonAfter)
        #expect(await eventually(timeout: 30) { ended.load(ordering: .relaxed) }, "the group ended without the part")
    }

    @Test func aWakeSignalIsNeverLostAndADeadlineEndsTheWait() async throws {
        let clock = ManualClock(now: Date())
        let signal = WakeSignal()
        signal.signal()
        #expect(await signal.wait(until: nil, clock: clock), "a signal sent before the wait counts")
        let waiter = Task { await signal.wait(until: clock.now.addingTimeInterval(30), clock: clock) }
        #expect(await eventually { clock.sleeperCount == 1 })
        clock.advance(by: 31)
        #expect(await waiter.value == false, "the deadline ended it")
        let woken = Task { await signal.wait(until: nil, clock: clock) }
        try await Task.sleep(for: .milliseconds(20))
        signal.signal()
        #expect(await woken.value)
        let cancelled = Task { await signal.wait(until: nil, clock: clock) }
        cancelled.cancel()
        #expect(await cancelled.value == false)
    }
}
