import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Logging
import OktaClient
import OktaSimulator
import SQLiteStore
import Synchronization
import Testing

/// Progress that never freezes: waits shown as they start and counted down, an ETA from the calls
/// left and the limits, live counts in the run record, log lines that never glue onto the line.
@Suite("Reconcile progress and rate-limit waits", .timeLimit(.minutes(3)))
struct ReconcileProgressTests {
    final class Lines: Sendable {
        let written = Mutex<[String]>([])
        func write(_ text: String) { written.withLock { $0.append(text) } }
        var all: [String] { written.withLock { $0 } }
    }

    final class Instant: Sendable {
        let value: Mutex<Date>
        init(_ date: Date) { value = Mutex(date) }
        var now: Date { value.withLock { $0 } }
        func advance(_ seconds: TimeInterval) { value.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    let start = Date(timeIntervalSince1970: 1_780_000_000)

    func progress(listed: Int, eta: TimeInterval? = nil) -> ReconcileProgress {
        ReconcileProgress(
            phase: "listing users", listed: listed, calls: 13, rateLimitWaits: 0, expectedUsers: 1000, elapsed: 5,
            eta: eta)
    }

    @Test func aWaitIsShownAtOnceAndCountsDownEverySecond() {
        let lines = Lines()
        let clock = Instant(start)
        let printer = ReconcileProgressPrinter(terminal: true, now: { clock.now }) { lines.write($0) }
        printer.update(progress(listed: 200, eta: 75))
        #expect(lines.all.last == "\r\u{1B}[Klisting users: 200 users listed, 13 Okta calls, about 1 min 15 s left")
        let wait = RateLimitWait(
            bucket: .usersList, limit: 600, share: 0.5, reason: .share, until: start.addingTimeInterval(41),
            seconds: 41)
        printer.waiting(wait)
        #expect(
            lines.all.last
                == "\r\u{1B}[Klisting users: 200 users listed, 13 Okta calls; waiting 41 s for Okta's users bucket to reset (limit 600/min, share 50 %)"
        )
        clock.advance(1)
        printer.tick()
        #expect(lines.all.last?.contains("waiting 40 s for Okta's users bucket") == true)
        clock.advance(40)
        let drawn = lines.all.count
        printer.tick()
        #expect(lines.all.count == drawn, "no redraw once the wait is over")
        printer.update(progress(listed: 400, eta: 30))
        #expect(lines.all.last?.hasSuffix("400 users listed, 13 Okta calls, about 30 s left") == true)
    }

    @Test func logLinesClearTheProgressLineAndPutItBack() {
        let lines = Lines()
        let printer = ReconcileProgressPrinter(terminal: true, now: { Date() }) { lines.write($0) }
        printer.update(progress(listed: 200))
        printer.clearLine()
        lines.write("a log line\n")
        printer.redraw()
        #expect(
            lines.all.suffix(3) == ["\r\u{1B}[K", "a log line\n", "listing users: 200 users listed, 13 Okta calls"])
        printer.finish()
        #expect(lines.all.last == "\n")
    }

    @Test func withoutATerminalPlainLinesEveryFewSeconds() {
        let lines = Lines()
        let clock = Instant(start)
        let printer = ReconcileProgressPrinter(terminal: false, now: { clock.now }) { lines.write($0) }
        printer.update(progress(listed: 200))
        printer.update(progress(listed: 400))
        clock.advance(5)
        printer.update(progress(listed: 600))
        #expect(lines.all.count == 2)
        #expect(lines.all.allSatisfy { $0.hasSuffix("\n") && !$0.contains("\u{1B}") })
    }

    @Test func theETAComesFromTheCallsLeftAndTheLimits() {
        // 800 users left: 4 listing calls; 1600 per-user calls at 600/min with a 50 % share: 300 a
        // window. 20 calls usable now above the reserve, then ceil(1580 / 300) = 6 windows: the
        // reset in 30 s and five more minutes.
        let eta = ReconcileETA.estimate(
            calls: [.usersList: 4, .userLinks: 1600],
            windows: [.userLinks: ReconcileETA.Window(limit: 600, remaining: 320, resetIn: 30)], share: 0.5,
            secondsPerCall: 0.01)
        #expect(eta == 330)
        // Within the share, the calls' own pace decides.
        #expect(
            ReconcileETA.estimate(
                calls: [.usersList: 4],
                windows: [.usersList: ReconcileETA.Window(limit: 600, remaining: 590, resetIn: 30)],
                share: 0.5, secondsPerCall: 0.5) == 2)
        #expect(ReconcileETA.estimate(calls: [:], windows: [:], share: 0.5, secondsPerCall: 1) == nil)
    }

    /// An estimate shown again later (a log line every 15 s during a long rate-limit wait) counts
    /// down from when it was made, instead of repeating the same number for the whole wait.
    @Test func anETAShownLaterCountsDownFromWhenItWasMade() {
        let made = Date(timeIntervalSince1970: 1_800_000_000)
        let report = ReconcileProgress(
            phase: "listing users", listed: 200, calls: 3, rateLimitWaits: 1, elapsed: 5, eta: 61)
        #expect(report.eta(at: made, reportedAt: made) == 61)
        #expect(report.eta(at: made.addingTimeInterval(15), reportedAt: made) == 46)
        #expect(
            report.eta(at: made.addingTimeInterval(90), reportedAt: made) == 1,
            "never zero: an estimate exists only while work remains")
        #expect(report.eta(at: made.addingTimeInterval(-5), reportedAt: made) == 61, "a clock that stepped back")
        let none = ReconcileProgress(phase: "starting", listed: 0, calls: 0, rateLimitWaits: 0, elapsed: 0)
        #expect(none.eta(at: made, reportedAt: made) == nil)
        // The CLI's line too.
        let printer = ReconcileProgressPrinter(terminal: false, write: { _ in })
        #expect(
            printer.text(report, wait: nil, at: made.addingTimeInterval(30), reportedAt: made)
                .hasSuffix("about 31 s left"))
    }

    /// A first run has no previous count, but its bulk enrichment phase knows the calls it still
    /// needs: it reports an ETA from the start (the CLI shows it, `serve` logs it as `eta_s`).
    @Test func theBulkEnrichmentPhaseReportsAnETA() async throws {
        try await withConnector(users: 300, plan: .bulk) { harness in
            let reports = Mutex<[ReconcileProgress]>([])
            let reconciler = Reconciler(
                connector: harness.settings, client: harness.client(), store: harness.store, clock: harness.clock,
                logger: quietLogger, progress: { report in reports.withLock { $0.append(report) } })
            let run = try await reconciler.run(ReconcileOptions(trigger: .manual))
            #expect(run.outcome == .succeeded, "\(run.errors)")
            let appPhase = reports.withLock { $0.filter { $0.phase == "reading app assignments" } }
            #expect(!appPhase.isEmpty)
            // Every report has an estimate, or says why there is none: once the apps are read, what
            // a first run still needs (devices, users) is unknown until it is listed (issue 23).
            #expect(appPhase.allSatisfy { $0.eta != nil || $0.etaUnknown != nil }, "\(appPhase.map(\.eta))")
            #expect(appPhase.contains { $0.eta != nil }, "an estimate while apps are left")
        }
    }

    @Test func aRateLimitedRunReportsEachWaitAsItStartsAndStoresLiveCounts() async throws {
        try await withConnector(
            users: 1000,
            configure: { options in
                // Two calls a 6 s window for five pages: waits whatever the machine's load (a page
                // would have to take 3 s for none to be needed).
                options.rateLimits = RateLimitSettings(
                    limits: [OktaBucket.usersList: 4, OktaBucket.apps: 1000, OktaBucket.devices: 1000], window: 6)
            }
        ) { harness in
            let client = harness.client()
            let waits = Mutex<[RateLimitWait]>([])
            client.limiter.observeWaits { wait in waits.withLock { $0.append(wait) } }
            let logs = CapturedLogs()
            let reports = Mutex<[ReconcileProgress]>([])
            let reconciler = Reconciler(
                connector: harness.settings, client: client, store: harness.store, clock: harness.clock,
                logger: logs.logger(level: .info), progress: { report in reports.withLock { $0.append(report) } },
                progressInterval: .milliseconds(100))
            let run = try await reconciler.run(ReconcileOptions(trigger: .manual))
            #expect(run.outcome == .succeeded, "\(run.errors)")
            // Five pages at 4 a window with a 50 % share: the limiter waits for resets, and says so first.
            let seen = waits.withLock { $0 }
            #expect(!seen.isEmpty)
            #expect(seen.allSatisfy { $0.bucket == .usersList && $0.reason == .share && $0.limit == 4 })
            #expect(
                seen.first?.description.contains("for Okta's users bucket to reset (limit 4/min, share 50 %)") == true)
            // The cadence logged progress during the run, with the counts so far.
            #expect(logs.contains("reconcile progress"), "\(logs.all)")
            #expect(reports.withLock { $0.contains { $0.listed > 0 } })
        }
    }

    @Test func theRunRecordShowsLiveCountsWhileItRuns() async throws {
        // Ten pages at two a second: several waits, so a loaded machine still sees the run while it lasts.
        try await withConnector(
            users: 2000,
            configure: { options in
                options.rateLimits = RateLimitSettings(
                    limits: [OktaBucket.usersList: 2, OktaBucket.apps: 1000, OktaBucket.devices: 1000], window: 1)
            }
        ) { harness in
            // Listing only (no enrichment phase before it), so the run is in its waits at once.
            var settings = harness.settings
            settings.enrich = EnrichSettings(apps: false, devices: false, plan: .auto)
            let reconciler = Reconciler(
                connector: settings, client: harness.client(), store: harness.store, clock: harness.clock,
                logger: quietLogger, progressInterval: .milliseconds(50))
            let running = Task { try await reconciler.run(ReconcileOptions(trigger: .manual)) }
            // While it waits for a reset, `runs` (another reader of the store) sees its counts.
            let live = try await eventually(timeout: 60) {
                guard let run = try await harness.store.runs(connector: harness.settings.slug, limit: 1).first else {
                    return false
                }
                return run.outcome == .running && run.counts.listed > 0 && !run.oktaCalls.isEmpty
            }
            #expect(live, "live counts stored while the run lasts")
            let record = try await running.value
            #expect(record.outcome == .succeeded)
            #expect(try await harness.store.run(id: record.id)?.counts.listed == record.counts.listed)
        }
    }
}
