import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Logging
import OktaSimulator
import ServiceLifecycle
import Synchronization
import Testing

/// The scheduler with a manual clock and a recorded stand-in for the reconcile (whose own behaviour
/// is tested against the simulator above).
@Suite("Scheduler: Repeats and Start time (SPEC §7)", .timeLimit(.minutes(3)))
struct SchedulerTests {
    final class Recorder: Sendable {
        let runs = Mutex<[(trigger: RunTrigger, at: Date)]>([])
        let outcome = Mutex(RunOutcome.succeeded)
        let hold = Mutex<Bool>(false)
    }

    struct Setup {
        let clock: ManualClock
        let testStore: TestStore
        var store: any StateStore { testStore.store }
        let recorder: Recorder
        let gate: RunGate
        let task: Task<Void, any Error>
        let logs: CapturedLogs
    }

    func start(
        repeats: String = "daily", on: String? = nil, at time: String = "02:00", zone: String = "UTC",
        now: String = "2026-06-01T10:00:00Z", active: Bool = true, gate: RunGate = RunGate(),
        backend: StoreBackend = .sqlite, prepare: (any StateStore) async throws -> Void = { _ in }
    ) async throws -> Setup {
        let testStore = try await backend.makeStore()
        let store = testStore.store
        try await prepare(store)
        let clock = ManualClock(now: Timestamp.parse(now)!.date)
        let recorder = Recorder()
        let logs = CapturedLogs()
        var settings = try ConnectorHarness.settingsForScheduling(
            schedule: try Schedule(repeats: repeats, on: on, startTime: time, timeZone: zone))
        settings.active = active
        let scheduler = ReconcileScheduler(
            connector: settings, store: store, clock: clock, gate: gate, logger: logs.logger(level: .info)
        ) { trigger in
            let startedAt = clock.now
            recorder.runs.withLock { $0.append((trigger, startedAt)) }
            let id = try await store.startRun(
                connector: "test-org", trigger: trigger, dryRun: false, at: Timestamp(startedAt))
            var record = RunRecord(id: id, connector: "test-org", trigger: trigger, startedAt: Timestamp(startedAt))
            record.outcome = recorder.outcome.withLock { $0 }
            record.endedAt = Timestamp(clock.now)
            try await store.finishRun(record)
            return record
        }
        let task = Task { try await scheduler.run() }
        return Setup(
            clock: clock, testStore: testStore, recorder: recorder, gate: gate, task: task, logs: logs)
    }

    func runs(_ setup: Setup) -> [String] {
        setup.recorder.runs.withLock { $0.map { "\($0.trigger.rawValue) \(Timestamp($0.at).iso8601)" } }
    }

    /// Waits until the scheduler sleeps again, then returns its next due time from the store.
    func nextDue(_ setup: Setup) async throws -> String? {
        #expect(await setup.clock.waitForSleepers(1))
        return try await setup.store.scheduleState(connector: "test-org")?.nextDueAt?.iso8601
    }

    func stop(_ setup: Setup) {
        setup.task.cancel()
    }

    @Test(arguments: StoreBackend.available)
    func theFirstStartRunsAtOnceThenDaily(_ backend: StoreBackend) async throws {
        let setup = try await start(backend: backend)
        defer { stop(setup) }
        #expect(try await nextDue(setup) == "2026-06-02T02:00:00.000Z")
        #expect(runs(setup) == ["startup 2026-06-01T10:00:00.000Z"])
        setup.clock.advance(to: Timestamp.parse("2026-06-02T02:00:00Z")!.date)
        #expect(try await nextDue(setup) == "2026-06-03T02:00:00.000Z")
        #expect(runs(setup).last == "schedule 2026-06-02T02:00:00.000Z")
    }

    @Test(arguments: StoreBackend.available)
    func hourlyAndEveryNHours(_ backend: StoreBackend) async throws {
        let hourly = try await start(repeats: "hourly", at: "00:15", now: "2026-06-01T10:20:00Z", backend: backend) {
            store in
            try await store.saveScheduleState(
                ScheduleState(
                    connector: "test-org", lastDueAt: Timestamp.parse("2026-06-01T10:15:00Z"),
                    lastSucceededAt: Timestamp.parse("2026-06-01T10:16:00Z")))
        }
        defer { stop(hourly) }
        #expect(try await nextDue(hourly) == "2026-06-01T11:15:00.000Z")
        #expect(runs(hourly).isEmpty)
        let sixHourly = try await start(
            repeats: "every 6 hours", at: "02:00", now: "2026-06-01T09:00:00Z", backend: backend
        ) { store in
            try await store.saveScheduleState(
                ScheduleState(
                    connector: "test-org", lastDueAt: Timestamp.parse("2026-06-01T08:00:00Z"),
                    lastSucceededAt: Timestamp.parse("2026-06-01T08:05:00Z")))
        }
        defer { stop(sixHourly) }
        #expect(try await nextDue(sixHourly) == "2026-06-01T14:00:00.000Z")
    }

    @Test(arguments: StoreBackend.available)
    func weeklyMonthlyAndDSTAreWiredThrough(_ backend: StoreBackend) async throws {
        let weekly = try await start(
            repeats: "weekly", on: "sunday", at: "03:00", zone: "Europe/Berlin", now: "2026-03-25T12:00:00Z",
            backend: backend
        ) {
            try await $0.saveScheduleState(
                ScheduleState(
                    connector: "test-org", lastDueAt: Timestamp.parse("2026-03-22T02:00:00Z"),
                    lastSucceededAt: Timestamp.parse("2026-03-22T02:10:00Z")))
        }
        defer { stop(weekly) }
        // Sunday 2026-03-29 is the day clocks spring forward: 03:00 CEST = 01:00Z.
        #expect(try await nextDue(weekly) == "2026-03-29T01:00:00.000Z")
        let monthly = try await start(
            repeats: "monthly", on: "last", at: "22:00", now: "2026-02-10T00:00:00Z", backend: backend
        ) {
            try await $0.saveScheduleState(
                ScheduleState(
                    connector: "test-org", lastDueAt: Timestamp.parse("2026-01-31T22:00:00Z"),
                    lastSucceededAt: Timestamp.parse("2026-01-31T22:30:00Z")))
        }
        defer { stop(monthly) }
        #expect(try await nextDue(monthly) == "2026-02-28T22:00:00.000Z")
    }

    @Test(arguments: StoreBackend.available)
    func afterDowntimeOneCatchUpRunThenBackOnSchedule(_ backend: StoreBackend) async throws {
        let setup = try await start(now: "2026-06-10T10:00:00Z", backend: backend) { store in
            try await store.saveScheduleState(
                ScheduleState(
                    connector: "test-org", lastDueAt: Timestamp.parse("2026-06-05T02:00:00Z"),
                    lastSucceededAt: Timestamp.parse("2026-06-05T02:30:00Z")))
        }
        defer { stop(setup) }
        #expect(try await nextDue(setup) == "2026-06-11T02:00:00.000Z")
        #expect(runs(setup) == ["schedule 2026-06-10T10:00:00.000Z"], "one catch-up, not five")
    }

    @Test(arguments: StoreBackend.available)
    func aDueRunDuringARunIsSkippedAndManualRunsDoNotMoveTheSchedule(_ backend: StoreBackend) async throws {
        let setup = try await start(now: "2026-06-01T01:00:00Z", backend: backend) { store in
            try await store.saveScheduleState(
                ScheduleState(
                    connector: "test-org", lastDueAt: Timestamp.parse("2026-05-31T02:00:00Z"),
                    lastSucceededAt: Timestamp.parse("2026-05-31T02:20:00Z")))
        }
        defer { stop(setup) }
        #expect(try await nextDue(setup) == "2026-06-01T02:00:00.000Z")
        // A manual run is in progress when the schedule comes due.
        let (release, hold) = AsyncStream.makeStream(of: Void.self)
        let holder = Task { try? await setup.gate.withRun("test-org") { for await _ in release {} } }
        while !setup.gate.isRunning("test-org") { await Task.yield() }
        setup.clock.advance(to: Timestamp.parse("2026-06-01T02:00:00Z")!.date)
        #expect(try await nextDue(setup) == "2026-06-02T02:00:00.000Z")
        #expect(runs(setup).isEmpty, "skipped, not queued")
        hold.finish()
        _ = await holder.value
        setup.clock.advance(to: Timestamp.parse("2026-06-02T02:00:00Z")!.date)
        #expect(try await nextDue(setup) == "2026-06-03T02:00:00.000Z")
        #expect(runs(setup) == ["schedule 2026-06-02T02:00:00.000Z"])
    }

    @Test(arguments: StoreBackend.available)
    func aFailedRunIsRetriedWithBackoffBeforeTheNextSlot(_ backend: StoreBackend) async throws {
        let setup = try await start(backend: backend)
        defer { stop(setup) }
        setup.recorder.outcome.withLock { $0 = .failed }
        _ = try await nextDue(setup)
        #expect(runs(setup).count == 1)
        // First retry a minute later (no successful run yet: still the initial sync).
        #expect(
            try await setup.store.scheduleState(connector: "test-org")?.nextDueAt?.iso8601 == "2026-06-01T10:01:00.000Z"
        )
        setup.recorder.outcome.withLock { $0 = .succeeded }
        setup.clock.advance(by: 60)
        #expect(try await nextDue(setup) == "2026-06-02T02:00:00.000Z")
        #expect(runs(setup).count == 2)
    }

    @Test(arguments: StoreBackend.available)
    func anInactiveConnectorNeverRuns(_ backend: StoreBackend) async throws {
        let setup = try await start(active: false, backend: backend)
        defer { stop(setup) }
        _ = try await setup.task.value
        #expect(runs(setup).isEmpty)
        #expect(setup.clock.totalSleeps == 0)
    }

    /// A run as the CLI (or the admin API) records it: manual, not in the schedule state.
    static func recordManualRun(
        _ store: any StateStore, at start: String, outcome: RunOutcome = .succeeded, dryRun: Bool = false
    ) async throws {
        let started = Timestamp.parse(start)!
        let id = try await store.startRun(connector: "test-org", trigger: .manual, dryRun: dryRun, at: started)
        var record = RunRecord(id: id, connector: "test-org", trigger: .manual, dryRun: dryRun, startedAt: started)
        record.outcome = outcome
        record.endedAt = Timestamp(started.date.addingTimeInterval(120))
        try await store.finishRun(record)
    }

    @Test(arguments: StoreBackend.available)
    func serveAfterSuccessfulManualRunsRunsNoStartupReconcile(_ backend: StoreBackend) async throws {
        // Two CLI reconciles succeeded this morning; `serve` has never run (no schedule state).
        let setup = try await start(now: "2026-06-01T10:00:00Z", backend: backend) { store in
            try await Self.recordManualRun(store, at: "2026-06-01T09:00:00Z")
            try await Self.recordManualRun(store, at: "2026-06-01T09:30:00Z")
        }
        defer { stop(setup) }
        #expect(try await nextDue(setup) == "2026-06-02T02:00:00.000Z")
        #expect(runs(setup).isEmpty, "no second full reconcile at once")
        #expect(setup.logs.contains("next run at 2026-06-02 02:00 GMT"), "\(setup.logs.all)")
    }

    @Test(arguments: StoreBackend.available)
    func failedAndDryRunsDoNotCountAsTheInitialSync(_ backend: StoreBackend) async throws {
        let setup = try await start(now: "2026-06-01T10:00:00Z", backend: backend) { store in
            try await Self.recordManualRun(store, at: "2026-06-01T09:00:00Z", outcome: .failed)
            try await Self.recordManualRun(store, at: "2026-06-01T09:30:00Z", dryRun: true)
        }
        defer { stop(setup) }
        _ = try await nextDue(setup)
        #expect(runs(setup) == ["startup 2026-06-01T10:00:00.000Z"])
        #expect(setup.logs.contains("initial run: no successful run recorded"), "\(setup.logs.all)")
    }

    @Test(arguments: StoreBackend.available)
    func aCatchUpOnlyForASlotMissedSinceTheLastSuccessfulRun(_ backend: StoreBackend) async throws {
        // The last scheduled run was days ago, but a manual run succeeded after today's 02:00 slot.
        let covered = try await start(now: "2026-06-10T10:00:00Z", backend: backend) { store in
            try await store.saveScheduleState(
                ScheduleState(
                    connector: "test-org", lastDueAt: Timestamp.parse("2026-06-05T02:00:00Z"),
                    lastSucceededAt: Timestamp.parse("2026-06-05T02:30:00Z")))
            try await Self.recordManualRun(store, at: "2026-06-10T03:00:00Z")
        }
        defer { stop(covered) }
        #expect(try await nextDue(covered) == "2026-06-11T02:00:00.000Z")
        #expect(runs(covered).isEmpty)
        // A manual run before today's slot does not cover it: one catch-up, named after the slot.
        let missed = try await start(zone: "Europe/Berlin", now: "2026-06-10T10:00:00Z", backend: backend) { store in
            try await Self.recordManualRun(store, at: "2026-06-09T12:00:00Z")
        }
        defer { stop(missed) }
        _ = try await nextDue(missed)
        #expect(runs(missed) == ["schedule 2026-06-10T10:00:00.000Z"])
        #expect(missed.logs.contains("catch-up: the 2026-06-10 02:00 GMT+2 slot was missed"), "\(missed.logs.all)")
    }

    @Test(arguments: StoreBackend.available)
    func aRunOfAnotherProcessHoldingTheLeaseSkipsTheDueRunAndNamesIt(_ backend: StoreBackend) async throws {
        let leaseStore = try await backend.makeStore()
        let leases = leaseStore.store
        // A CLI reconcile of this connector runs in a live process (pid 1) on this host.
        let cli = ProcessIdentity(host: ProcessIdentity.current.host, pid: 1, incarnation: "cli")
        let now = Date()
        #expect(
            try await leases.acquireRunLease(
                connector: "test-org", holder: cli, at: Timestamp(now),
                expiresAt: Timestamp(now.addingTimeInterval(600)))
                == .acquired)
        let setup = try await start(gate: RunGate(leases: leases), backend: backend)
        defer { stop(setup) }
        // The initial run is due at once, but the CLI holds the lease: skipped and logged with the holder.
        #expect(
            await eventually {
                setup.logs.contains("due reconcile skipped: a reconcile of test-org is running in process 1 on host")
            })
        #expect(runs(setup).isEmpty)
        // Once the CLI released it, the next due run takes the lease.
        try await leases.releaseRunLease(connector: "test-org", holder: cli)
        // Wait until the scheduler sleeps towards its next look, then move the clock there.
        #expect(await eventually { setup.clock.sleeperCount >= 1 })
        setup.clock.advance(to: max(setup.clock.nextDeadline ?? setup.clock.now, setup.clock.now))
        #expect(await eventually { runs(setup).count == 1 })
        #expect(
            try await eventually { try await leases.runLease(connector: "test-org") == nil }, "released after the run")
    }
}

extension ConnectorHarness {
    static func settingsForScheduling(schedule: Schedule) throws -> ConnectorSettings {
        ConnectorSettings(
            name: "Test org", slug: "test-org", server: "Cloud", active: true,
            okta: OktaSettings(
                url: URL(string: "https://example.okta.com")!, credentials: .apiToken(Secret("x")), rateLimitShare: 0.5),
            userStatuses: [.active], schedule: schedule,
            eventHook: EventHookSettings(
                path: "/hooks/okta/test-org", authHeader: "Authorization", secrets: [Secret("s")]),
            enrich: EnrichSettings(apps: true, devices: true, plan: .auto), mapper: UserMapper(),
            sink: .ndjson(NDJSONSinkSettings(path: "-", batchSize: 500)),
            reconcile: ReconcileSettings(maxRemovalShare: 0.2))
    }
}
