import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Logging
import OktaClient
import Synchronization
import Testing

/// The ETA of a reconcile against the time it really took, in a scripted org whose Okta answers
/// with rate-limit windows of a minute on simulated time (a manual clock: a call takes 0.25 s, a
/// wait for a reset takes no real time): never zero while work remains, within a factor of two
/// of the truth once the counts are known, and honest ("at least", "unknown") when they are not.
@Suite("Reconcile ETA against the time it took", .timeLimit(.minutes(3)))
struct ReconcileETAAccuracyTests {
    /// Okta as a script: apps of very different sizes (their users in pages of 200), the listing
    /// in pages of 200, each call metered against a bucket with a fixed one-minute window.
    final class ScriptedOkta: OktaDirectory {
        let clock: ManualClock
        let limiter: OktaRateLimiter
        let pause = OktaCredentialPause()
        let users: [OktaUser]
        /// The users of each app.
        let apps: [(id: String, users: [String])]
        let limits: [OktaBucket: Int] = [.apps: 100, .usersList: 600]
        let started: Date
        private let counts = Mutex(OktaCallStats.Counts())
        private let used = Mutex<[String: Int]>([:])

        init(users count: Int, appSizes: [Int], clock: ManualClock) {
            self.clock = clock
            started = clock.now
            // The limiter sleeps by moving the simulated time to the reset at once.
            limiter = OktaRateLimiter(share: 0.5, clock: Jumping(clock: clock))
            users = (0..<count).map { InMemoryOkta.user(String(format: "00u%05d", $0)) }
            apps = appSizes.enumerated().map { index, size in
                ("0oa\(index)", (0..<size).map { String(format: "00u%05d", ($0 * 7 + index) % count) })
            }
        }

        /// A clock whose sleeps move the manual clock forward instead of waiting.
        struct Jumping: WallClock {
            let clock: ManualClock
            var now: Date { clock.now }
            func sleep(until deadline: Date) async throws { clock.advance(to: deadline) }
        }

        func meter(_ endpoint: String, _ bucket: OktaBucket) async throws {
            try await limiter.acquire(bucket)
            clock.advance(by: 0.25)
            let elapsed = clock.now.timeIntervalSince(started)
            let window = Int(elapsed / 60)
            let limit = limits[bucket] ?? 1000
            let calls = used.withLock { used in
                used["\(bucket.rawValue) \(window)", default: 0] += 1
                return used["\(bucket.rawValue) \(window)"]!
            }
            counts.withLock { $0.calls[endpoint, default: 0] += 1 }
            await limiter.record(
                bucket, limit: limit, remaining: max(0, limit - calls), resetIn: Double(window + 1) * 60 - elapsed)
        }

        func listUserPages(statuses: [OktaUserStatus], limit: Int) -> OktaUserPages {
            OktaPageSequence { index in
                guard index * 200 < self.users.count else { return nil }
                try await self.meter("GET /api/v1/users", .usersList)
                let page = Array(self.users[(index * 200)..<min(self.users.count, (index + 1) * 200)])
                return try OktaUserPage(parsing: [UInt8](try JSONCoding.encoder().encode(page)))
            }
        }

        func listApps() -> OktaPages<OktaApplication> {
            OktaPageSequence { index in
                guard index == 0 else { return nil }
                try await self.meter("GET /api/v1/apps", .apps)
                return self.apps.map { OktaApplication(id: $0.id, name: "app", label: $0.id, status: "ACTIVE") }
            }
        }

        func appUserIds(appId: String) -> OktaIdPages {
            let ids = apps.first { $0.id == appId }?.users ?? []
            return OktaPageSequence { index in
                guard index == 0 || index * 200 < ids.count else { return nil }
                try await self.meter("GET /api/v1/apps/{id}/users", .apps)
                return Array(ids[min(ids.count, index * 200)..<min(ids.count, (index + 1) * 200)])
            }
        }

        func user(id: String) async throws -> OktaUser { throw OktaError.notFound(endpoint: "unused") }
        func appLinks(userId: String) async throws -> [OktaAppLink] { [] }
        func userDevices(userId: String) async throws -> [OktaUserDevice] { [] }
        func userGroups(userId: String) async throws -> [OktaGroup] { [] }
        func listGroups() -> OktaPages<OktaGroup> { OktaPageSequence { _ in nil } }
        func groupMemberIds(groupId: String) -> OktaIdPages { OktaPageSequence { _ in nil } }
        func missingScopes() async -> Set<String> { [] }
        func isClassicEngine() async -> Bool { false }
        func listDevices() -> OktaPages<OktaDeviceWithUsers> { OktaPageSequence { _ in nil } }
        func systemLogPollingURL(since: Timestamp, eventTypes: [String], limit: Int) -> String { "unused" }
        func systemLogPage(url: String) async throws -> SystemLogPage { throw OktaError.notFound(endpoint: "unused") }
        var callCounts: OktaCallStats.Counts { counts.withLock { $0 } }
        var lastAcceptedCall: Date? { nil }
        var clockOffset: Double? { 0 }
        func probeCredentials() async throws {}
    }

    /// Log lines with the simulated time they were written at.
    final class TimedLogs: Sendable {
        let lines = Mutex<[(Date, String, Logger.Metadata)]>([])
        let clock: ManualClock
        init(clock: ManualClock) { self.clock = clock }

        struct Handler: LogHandler {
            let logs: TimedLogs
            var metadata: Logger.Metadata = [:]
            var logLevel: Logger.Level = .info
            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }
            func log(event: LogEvent) {
                let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
                logs.lines.withLock { $0.append((logs.clock.now, "\(event.message)", merged)) }
            }
        }

        var logger: Logger { Logger(label: "eta") { _ in Handler(logs: self) } }

        /// `eta_s` (or `eta_at_least_s`) of the progress lines, with their time.
        func etas(_ key: String) -> [(Date, Int)] {
            lines.withLock { lines in
                lines.compactMap { time, message, metadata in
                    guard message == "reconcile progress", let value = metadata[key] else { return nil }
                    return Int("\(value)").map { (time, $0) }
                }
            }
        }
    }

    struct Observed {
        var reports: [(Date, ReconcileProgress)]
        var end: Date
        var logs: TimedLogs
        var run: RunRecord
    }

    func reconcile(_ okta: ScriptedOkta, memory: MemoryConnector, clock: ManualClock) async throws -> Observed {
        let reports = Mutex<[(Date, ReconcileProgress)]>([])
        let logs = TimedLogs(clock: clock)
        let reconciler = Reconciler(
            connector: memory.settings, client: okta, store: memory.store, clock: clock, logger: logs.logger,
            progress: { report in reports.withLock { $0.append((clock.now, report)) } },
            progressInterval: .seconds(15))
        let run = try await reconciler.run(ReconcileOptions(trigger: .manual))
        return Observed(reports: reports.withLock { $0 }, end: clock.now, logs: logs, run: run)
    }

    @Test func theETAIsWithinAFactorOfTwoOfTheTimeLeftAndNeverZeroWhileWorkRemains() async throws {
        let clock = ManualClock(now: Date(timeIntervalSince1970: 1_800_000_000))
        // 40 apps from 30 to 2,900 users: 309 app-user pages, 50 a window at a 50 % share of 100.
        let sizes = (0..<40).map { 30 + ($0 * 1_637) % 2_900 }
        let okta = ScriptedOkta(users: 3_000, appSizes: sizes, clock: clock)
        let memory = try await MemoryConnector(enrich: EnrichSettings(apps: true, devices: false, plan: .bulk))

        // A first run: the apps are counted as they are read; the users are not known at all.
        let first = try await reconcile(okta, memory: memory, clock: clock)
        #expect(first.run.outcome == .succeeded, "\(first.run.errors)")
        let firstTook = first.end.timeIntervalSince(first.reports.first?.0 ?? first.end)
        let appReports = first.reports.filter { $0.1.phase == "reading app assignments" }
        #expect(appReports.count > 40)
        for (time, report) in appReports {
            let left = first.end.timeIntervalSince(time)
            #expect(report.etaUnknown?.contains("users") == true, "a first run does not know its users")
            // Never zero while work remains (after the last app, only the unknown listing is left);
            // a lower bound, so never far above the truth.
            #expect(report.eta.map { $0 >= 1 } ?? (report.callsLeft.values.reduce(0, +) == 0), "\(report)")
            #expect((report.eta ?? 0) <= left * 1.5 + 10, "at least \(report.eta ?? 0) s; \(left) s were left")
        }
        // Once a few apps are read, their average is a fair guess for the rest.
        for (time, report) in appReports.dropFirst(appReports.count / 4) {
            let left = first.end.timeIntervalSince(time)
            #expect((report.eta ?? 0) >= left / 2 - 10, "at least \(report.eta ?? 0) s; \(left) s were left")
        }
        let listing = first.reports.filter { $0.1.phase == "listing users" }
        #expect(!listing.isEmpty && listing.allSatisfy { $0.1.eta == nil && $0.1.etaUnknown != nil })
        let printer = ReconcileProgressPrinter(terminal: false, write: { _ in })
        #expect(
            printer.text(listing[0].1, wait: nil, at: listing[0].0).contains("time left unknown (how many users"))
        let firstLogged = first.logs.etas("eta_at_least_s")
        #expect(!firstLogged.isEmpty && firstLogged.allSatisfy { $0.1 >= 1 }, "\(firstLogged)")

        // A later run: the previous run's calls count every phase.
        let second = try await reconcile(okta, memory: memory, clock: clock)
        #expect(second.run.outcome == .succeeded, "\(second.run.errors)")
        let secondTook = second.end.timeIntervalSince(second.reports.first?.0 ?? second.end)
        var ratios: [Double] = []
        for (time, report) in second.reports {
            let left = second.end.timeIntervalSince(time)
            #expect(report.etaUnknown == nil, "\(report)")
            if let eta = report.eta {
                #expect(eta >= 1)
                if left >= 10 { ratios.append(eta / left) }
            } else {
                #expect(left < 1, "no estimate with \(left) s left")
            }
        }
        #expect(ratios.count > 40)
        #expect(ratios.allSatisfy { $0 >= 0.5 && $0 <= 2 }, "\(ratios)")
        // `serve`'s log line: made again from the windows as they stand, so it neither reaches
        // zero during a wait nor jumps back up after it.
        let logged = second.logs.etas("eta_s")
        // The manual clock moves in the windows' steps: one line a window (6 in a 361 s run).
        #expect(logged.count >= 5, "\(logged)")
        for (time, eta) in logged {
            let left = second.end.timeIntervalSince(time)
            #expect(eta >= 1)
            if left >= 10 {
                #expect(Double(eta) >= left / 2 && Double(eta) <= left * 2, "eta_s=\(eta) with \(left) s left")
            }
        }
        for (before, after) in zip(logged, logged.dropFirst()) {
            #expect(Double(after.1) <= Double(before.1) + 10, "eta_s went from \(before.1) to \(after.1)")
        }
        print(
            "ETA check: first run \(Int(firstTook)) s simulated, second \(Int(secondTook)) s; second run's ETA / actual: min \(ratios.min() ?? 0), max \(ratios.max() ?? 0); eta_s \(logged.map(\.1))"
        )
    }
}
