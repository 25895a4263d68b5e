public import ConnectorConfiguration
public import ConnectorDomain
public import ConnectorStore
import Foundation
public import Logging
public import ServiceLifecycle

/// Runs a connector's full reconcile on its *Repeats* and *Start time* (SPEC §7): at once when no run
/// has succeeded yet, once at once after downtime that missed a due time, otherwise at the next due
/// time; never two at a time; manual runs do not move the schedule; inactive connectors never run.
public struct ReconcileScheduler: Service {
    let connector: ConnectorSettings
    let store: any StateStore
    let clock: any WallClock
    let gate: RunGate
    let logger: Logger
    let reconcile: @Sendable (RunTrigger) async throws -> RunRecord

    /// Creates a scheduler.
    /// - Parameters:
    ///   - reconcile: Runs one reconcile with a trigger and returns its record.
    public init(
        connector: ConnectorSettings, store: any StateStore, clock: any WallClock, gate: RunGate, logger: Logger,
        reconcile: @escaping @Sendable (RunTrigger) async throws -> RunRecord
    ) {
        self.connector = connector
        self.store = store
        self.clock = clock
        self.gate = gate
        self.logger = logger
        self.reconcile = reconcile
    }

    /// The wait before retrying after consecutive failures: 1, 2, 4 … minutes, at most 30.
    static func retryDelay(failures: Int) -> TimeInterval {
        min(1800, 60 * pow(2, Double(max(0, failures - 1))))
    }

    /// When the next run is due, from the stored schedule state.
    func nextDue(state: ScheduleState, failures: Int, now: Date) -> (due: Date, trigger: RunTrigger) {
        let schedule = connector.schedule
        guard state.lastSucceededAt != nil else {
            if failures > 0, let started = state.lastStartedAt?.date {
                return (max(now, started.addingTimeInterval(Self.retryDelay(failures: failures))), .startup)
            }
            return (now, .startup)
        }
        let lastDue = state.lastDueAt?.date ?? state.lastSucceededAt!.date
        var due = schedule.nextRun(lastDue: lastDue, now: now)
        if failures > 0, let started = state.lastStartedAt?.date {
            due = max(
                now,
                min(
                    schedule.occurrence(after: started), started.addingTimeInterval(Self.retryDelay(failures: failures))
                ))
        }
        return (due, .schedule)
    }

    public func run() async throws {
        var log = logger
        log[metadataKey: "connector"] = "\(connector.slug)"
        guard connector.active else {
            log.info("connector is inactive: no scheduled reconciles")
            return
        }
        var failures = 0
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            var state =
                try await store.scheduleState(connector: connector.slug) ?? ScheduleState(connector: connector.slug)
            let (due, trigger) = nextDue(state: state, failures: failures, now: clock.now)
            state.nextDueAt = Timestamp(due)
            try await store.saveScheduleState(state)
            log.info(
                "next reconcile", metadata: ["due": "\(Timestamp(due).iso8601)", "trigger": "\(trigger.rawValue)"])
            do {
                try await cancelWhenGracefulShutdown { try await clock.sleep(until: due) }
            } catch {
                return
            }
            guard !Task.isShuttingDownGracefully else { return }
            // The gate is held for the whole run, bookkeeping included, and left however it ends.
            let outcome: Result<RunRecord, any Error>? = await gate.withRun(connector.slug) {
                do {
                    state.lastDueAt = Timestamp(due)
                    state.lastStartedAt = Timestamp(clock.now)
                    try await store.saveScheduleState(state)
                    // Shutdown cancels a running reconcile at once: it is recorded interrupted and
                    // removes nothing (SPEC §11); the next start catches up.
                    return .success(try await cancelWhenGracefulShutdown { try await reconcile(trigger) })
                } catch {
                    return .failure(error)
                }
            }
            let record: RunRecord
            switch outcome {
            case nil:
                log.notice(
                    "due reconcile skipped: a run is in progress", metadata: ["due": "\(Timestamp(due).iso8601)"])
                state.lastDueAt = Timestamp(due)
                try await store.saveScheduleState(state)
                continue
            case .failure(let error):
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                failures += 1
                log.error("reconcile could not run", metadata: ["error": "\(error)"])
                continue
            case .success(let finishedRecord):
                record = finishedRecord
            }
            var finished = try await store.scheduleState(connector: connector.slug) ?? state
            switch record.outcome {
            case .succeeded, .held:
                failures = 0
                finished.lastSucceededAt = record.endedAt ?? Timestamp(clock.now)
            case .cancelled, .interrupted:
                return
            case .failed, .running:
                failures += 1
            }
            try await store.saveScheduleState(finished)
        }
    }
}
