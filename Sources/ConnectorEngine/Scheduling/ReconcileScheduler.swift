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

    /// Why the next run is due when it is: the rule of SPEC §7 that decided, for the log.
    enum Rule: Sendable, Hashable {
        /// No successful, non-dry run is recorded for the connector (by any process or command).
        case initialRun
        /// A slot passed since the last successful run (scheduled or manual) without a run.
        case catchUp(slot: Date)
        /// The next slot of the schedule.
        case nextSlot
        /// A retry after failed runs.
        case retry(failures: Int)
    }

    /// When the next run is due, from the stored schedule state and the newest successful run.
    /// - Parameters:
    ///   - state: The schedule bookkeeping (only `serve` writes it).
    ///   - lastSuccess: When the newest successful, non-dry run started, whoever started it (CLI
    ///     and admin runs count: they suppress an initial or catch-up run, but never move the slots).
    ///   - failures: Consecutive failed scheduled runs.
    ///   - now: The time now.
    func nextDue(state: ScheduleState, lastSuccess: Date?, failures: Int, now: Date)
        -> (due: Date, trigger: RunTrigger, rule: Rule)
    {
        let schedule = connector.schedule
        let succeeded = [state.lastSucceededAt?.date, lastSuccess].compactMap { $0 }.max()
        guard let succeeded else {
            if failures > 0, let started = state.lastStartedAt?.date {
                return (
                    max(now, started.addingTimeInterval(Self.retryDelay(failures: failures))), .startup,
                    .retry(failures: failures)
                )
            }
            return (now, .startup, .initialRun)
        }
        if failures > 0, let started = state.lastStartedAt?.date {
            let due = max(
                now,
                min(
                    schedule.occurrence(after: started), started.addingTimeInterval(Self.retryDelay(failures: failures))
                ))
            return (due, .schedule, .retry(failures: failures))
        }
        // Slots count from the last scheduled due time (manual runs do not move them); only a slot
        // later than both it and the last successful run was missed.
        let reference =
            [state.lastDueAt?.date, lastSuccess, state.lastSucceededAt?.date].compactMap { $0 }.max()
            ?? succeeded
        let slot = schedule.occurrence(after: reference)
        if slot <= now {
            // The newest missed slot names the catch-up (one run, never a pile of them).
            var newest = slot
            while case let following = schedule.occurrence(after: newest), following <= now { newest = following }
            return (now, .schedule, .catchUp(slot: newest))
        }
        return (slot, .schedule, .nextSlot)
    }

    /// When the newest successful, non-dry run of the connector started, from the run history.
    func lastSuccessfulRun() async throws -> Date? {
        try await store.runs(connector: connector.slug, limit: 50).first {
            !$0.dryRun && ($0.outcome == .succeeded || $0.outcome == .held)
        }?.startedAt.date
    }

    /// The log line of a rule.
    func describe(_ rule: Rule, due: Date) -> String {
        switch rule {
        case .initialRun: return "initial run: no successful run recorded"
        case .catchUp(let slot): return "catch-up: the \(localTime(slot)) slot was missed"
        case .nextSlot: return "next run at \(localTime(due))"
        case .retry(let failures):
            return "retry after \(failures) failed run\(failures == 1 ? "" : "s") at \(localTime(due))"
        }
    }

    /// An instant as the schedule's wall-clock time: `02:00`, or `2026-06-02 02:00` on another day.
    func localTime(_ instant: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = connector.schedule.timeZone
        formatter.dateFormat = "yyyy-MM-dd HH:mm zzz"
        return formatter.string(from: instant)
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
            let (due, trigger, rule) = nextDue(
                state: state, lastSuccess: try await lastSuccessfulRun(), failures: failures, now: clock.now)
            state.nextDueAt = Timestamp(due)
            try await store.saveScheduleState(state)
            // The message is the rule of SPEC §7 that decided, so that the log explains every run.
            log.notice(
                "\(describe(rule, due: due))",
                metadata: ["next_reconcile": "\(Timestamp(due).iso8601)", "trigger": "\(trigger.rawValue)"])
            do {
                try await cancelWhenGracefulShutdown { try await clock.sleep(until: due) }
            } catch {
                return
            }
            guard !Task.isShuttingDownGracefully else { return }
            // The gate is held for the whole run, bookkeeping included, and left however it ends.
            let outcome: Result<RunRecord, any Error>?
            do {
                switch try await gate.admit(
                    connector.slug,
                    {
                        do {
                            state.lastDueAt = Timestamp(due)
                            state.lastStartedAt = Timestamp(clock.now)
                            try await store.saveScheduleState(state)
                            // Shutdown cancels a running reconcile at once: it is recorded
                            // interrupted and removes nothing; the next start catches up.
                            return Result<RunRecord, any Error>.success(
                                try await cancelWhenGracefulShutdown { try await reconcile(trigger) })
                        } catch {
                            return .failure(error)
                        }
                    })
                {
                case .ran(let result): outcome = result
                case .busy(let holder):
                    log.notice(
                        "due reconcile skipped: \(holder.message(connector: connector.slug))",
                        metadata: ["due": "\(Timestamp(due).iso8601)"])
                    outcome = nil
                }
            } catch {
                // The lease could not be read or taken (the store failed): retried with backoff.
                outcome = .failure(error)
            }
            let record: RunRecord
            switch outcome {
            case nil:
                state.lastDueAt = Timestamp(due)
                try await store.saveScheduleState(state)
                if trigger == .startup {
                    // The initial run is due until one succeeds: look again in a minute, not at once.
                    do {
                        try await cancelWhenGracefulShutdown {
                            try await clock.sleep(until: clock.now.addingTimeInterval(60))
                        }
                    } catch {
                        return
                    }
                }
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
