import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OktaClient

// What the console's templates read (`Templates/*.mustache`): plain values, worded and toned here,
// escaped by the template engine. The templates name these properties; renaming one is a template
// change too (every page is rendered by the console's in-process route tests).

/// The page around every console page's content (`layout.mustache`).
struct LayoutModel {
    struct NavigationLink {
        var name: String
        var slug: String
    }

    struct RefreshControl {
        var path: String
        /// What the form asks for: `on` pauses, `off` resumes.
        var pausedValue: String
        var label: String
    }

    var title: String
    var csrf: String?
    var notice: String?
    var connectors: [NavigationLink]
    var refreshControl: RefreshControl?
    /// The page's own content, rendered from its template.
    var body: String

    init(title: String, chrome: ConsoleChrome, body: String) {
        self.title = title
        self.csrf = chrome.csrf
        self.notice = chrome.notice
        self.connectors = chrome.connectors.map { NavigationLink(name: $0.name, slug: $0.slug) }
        if let seconds = chrome.refresh, chrome.csrf != nil {
            refreshControl = RefreshControl(
                path: chrome.path, pausedValue: chrome.refreshPaused ? "off" : "on",
                label: chrome.refreshPaused ? "Resume refreshing" : "Pause refreshing (every \(seconds) s)")
        }
        self.body = body
    }
}

/// A form with one button (`button.mustache`); the CSRF token comes from the page.
struct ButtonModel {
    struct Field {
        var name: String
        var value: String
    }

    var label: String
    var action: String
    var buttonClass: String?
    var fields: [Field] = []
}

/// What the overview and a connector's page both say of a connector.
struct ConnectorStateModel {
    var slug: String
    var name: String
    var server: String
    var oktaURL: String
    var schedule: String
    var hookPath: String
    var activeTone: String
    var activeText: String
    var healthClass: String
    var healthText: String
    var eventsTone: String
    var eventsText: String
    var lastDeliveryAge: String
    var systemLog: String?
    var inboxDepth: Int
    var outboxDepth: Int
    var outboxOldestAge: String?
    var failedEvents: Int
    var failedEventsTone: String
    var deadLetters: Int
    var deadLettersTone: String
    var nextRun: String
    var lastRun: LastRun?
    /// The newest run that succeeded and wrote (not a dry run): an interrupted or dry run after it
    /// does not hide it.
    var lastSuccess: LastRun?
    var runningId: Int64?
    /// What the running run waits on, when Okta's rate limit holds it.
    var rateLimitWait: String?
    /// When Okta last accepted the connector's credentials (`never` before the first call).
    var lastOktaCall: String
    /// Which credential Okta refuses, and what it said.
    var credentialProblem: String?
    /// How far Okta's clock is off this host's, when noticeably (lags are corrected for it).
    var oktaClock: String?
    /// The connector's share of Okta's daily event hook cap, when it takes hook deliveries.
    var hookEvents: String?
    var hookEventsTone: String
    var driftChart: ConsoleCharts.Chart?

    /// A finished run, in a line.
    struct LastRun {
        var slug: String
        var id: Int64
        var outcome: String
        var dryRun: Bool
        var age: String
        var listed: Int
        var changed: Int
        var removed: Int
        var drift: Int
    }

    init(_ connector: StatusReport.Connector, now: Date, compactChart: Bool) {
        slug = connector.slug
        name = connector.name
        server = connector.server
        oktaURL = connector.oktaURL
        schedule = connector.schedule
        hookPath = connector.hookPath
        activeTone = connector.active ? "ok" : "off"
        activeText = connector.active ? "active" : "inactive"
        healthClass = StatusPage.healthClass(connector.health)
        healthText = connector.health?.description ?? "unknown"
        let arriving = connector.lastDelivery.map { now.timeIntervalSince($0) < 3600 } ?? false
        eventsTone = arriving ? "ok" : "warn"
        eventsText = arriving ? "arriving" : "none in the last hour"
        lastDeliveryAge = StatusPage.age(connector.lastDelivery, now: now)
        systemLog = Self.systemLogText(connector, now: now)
        inboxDepth = connector.inboxDepth
        outboxDepth = connector.outboxDepth
        outboxOldestAge = connector.outboxOldest.map { StatusPage.age($0.date, now: now) }
        failedEvents = connector.failedEvents
        failedEventsTone = connector.failedEvents > 0 ? "bad" : ""
        deadLetters = connector.deadLetters
        deadLettersTone = connector.deadLetters > 0 ? "bad" : ""
        nextRun = connector.nextDue?.iso8601 ?? "not scheduled"
        lastRun = connector.runs.first { $0.outcome != .running }.map { Self.lastRun($0, now: now) }
        lastSuccess = connector.runs.first { $0.outcome == .succeeded && !$0.dryRun }.map {
            Self.lastRun($0, now: now)
        }
        runningId = connector.runs.first { $0.outcome == .running }?.id
        rateLimitWait = connector.rateLimitWait
        lastOktaCall = StatusPage.age(connector.oktaContact?.lastAcceptedAt?.date, now: now)
        credentialProblem = connector.oktaContact?.rejection.map {
            "\($0.reason) (\(StatusPage.age($0.at.date, now: now)))"
        }
        oktaClock = connector.oktaClock?.summary
        hookEvents = connector.hookEvents?.summary
        hookEventsTone = connector.hookEvents?.warning == true ? "warn" : ""
        driftChart = ConsoleCharts.drift(
            connector.runs, id: compactChart ? "drift-\(slug)" : "drift", compact: compactChart)
    }

    static func lastRun(_ run: RunRecord, now: Date) -> LastRun {
        LastRun(
            slug: run.connector, id: run.id, outcome: run.outcome.rawValue, dryRun: run.dryRun,
            age: StatusPage.age(run.startedAt.date, now: now), listed: run.counts.listed,
            changed: run.counts.created + run.counts.updated, removed: run.counts.removed, drift: run.drift)
    }

    /// Where System Log polling stands (SPEC §17), for connectors that poll.
    static func systemLogText(_ connector: StatusReport.Connector, now: Date) -> String? {
        guard connector.eventSource != "hooks" else { return nil }
        guard let cursor = connector.systemLog else { return "event source \(connector.eventSource); not polled yet" }
        var parts = ["event source \(connector.eventSource)"]
        if let newest = cursor.newestPublished {
            parts.append("lag \(Int64(saturating: connector.oktaClock.age(of: newest, now: now))) s")
        }
        if let at = cursor.lastPollAt {
            parts.append("last poll \(StatusPage.age(at.date, now: now))\(cursor.lastOutcome.map { ": \($0)" } ?? "")")
        }
        parts.append("\(cursor.polledEvents) events polled, \(cursor.missedDeliveries) missed by the hook")
        return parts.joined(separator: " · ")
    }
}

/// Every connector at a glance (`overview.mustache`).
struct OverviewModel {
    var generatedAt: String
    var refreshText: String
    var connectors: [ConnectorStateModel]
}

/// One connector's page (`connector.mustache`).
struct ConnectorPageModel {
    struct Running {
        var id: Int64
        var trigger: String
        var listed: Int
        /// `waiting 41 s for Okta's users bucket to reset (…)`, while it does.
        var waiting: String?
    }

    var csrf: String?
    var connector: ConnectorStateModel
    var healthTone: String
    var healthState: String
    var refreshText: String
    var buttons: [ButtonModel]
    var running: Running?
    var heldId: Int64?
    var worker: String
    var outboxOldest: String
    var hookState: HookStateModel
    var rateLimitTable: RateLimitTableModel?
    var eventsChart: ConsoleCharts.Chart
    var runsTable: RunsTableModel?
}

/// The event hooks in Okta as last read (`hook-state.mustache`).
struct HookStateModel {
    struct Hook {
        var id: String
        var name: String
        var status: String
        var statusTone: String
        var verification: String
        var verifiedTone: String
        var url: String
    }

    var notAsked = false
    var error: String?
    var triedAge = ""
    var noneRegistered = false
    var hasHooks = false
    var hooks: [Hook] = []
    var checkedAge: String?
    /// A live hook of a connector that polls instead: the command that deactivates it.
    var deactivateCommand: String?

    init(_ observation: EventHookMonitor.Observation?, now: Date) {
        guard let observation else {
            notAsked = true
            return
        }
        error = observation.error
        deactivateCommand = observation.deactivateCommand
        triedAge = StatusPage.age(observation.triedAt, now: now)
        noneRegistered = observation.checkedAt != nil && observation.hooks.isEmpty
        hasHooks = !observation.hooks.isEmpty
        hooks = observation.hooks.map { hook in
            Hook(
                id: hook.id ?? "?", name: hook.name, status: hook.status ?? "?",
                statusTone: hook.status == "ACTIVE" ? "ok" : "bad", verification: hook.verificationStatus ?? "?",
                verifiedTone: hook.verificationStatus == "VERIFIED" ? "ok" : "bad", url: hook.channel.config.uri)
        }
        checkedAge = observation.checkedAt.map { StatusPage.age($0, now: now) }
    }
}

/// Okta's rate-limit buckets (`rate-limits.mustache`); `nil` before Okta first answered.
struct RateLimitTableModel {
    struct Bucket {
        var shortName: String
        var endpoint: String
        var limit: Int
        var remaining: Int
        var headroom: Int
        var tone: String
        var resetIn: Int
    }

    var buckets: [Bucket]
    var sharePercent: Int

    init?(_ buckets: [(bucket: OktaBucket, limit: Int, remaining: Int, resetIn: TimeInterval)], share: Double) {
        guard !buckets.isEmpty else { return nil }
        let reserve = Int(((1 - share) * 100).rounded())
        self.buckets = buckets.map { entry in
            let headroom = entry.limit > 0 ? Int((Double(entry.remaining) / Double(entry.limit) * 100).rounded()) : 0
            return Bucket(
                shortName: entry.bucket.shortName, endpoint: entry.bucket.rawValue, limit: entry.limit,
                remaining: entry.remaining, headroom: headroom,
                tone: headroom > reserve ? "ok" : (headroom > reserve / 2 ? "warn" : "bad"),
                resetIn: max(0, Int(entry.resetIn.rounded())))
        }
        sharePercent = Int((share * 100).rounded())
    }
}

/// A connector's runs, newest first (`runs-table.mustache`); `nil` when there are none.
struct RunsTableModel {
    struct Row {
        var slug: String
        var id: Int64
        var trigger: String
        var dryRun: Bool
        var startedAt: String
        var duration: String
        var tone: String
        var outcome: String
        /// A CLI `reconcile` whose changes did not reach the sink (they stay queued).
        var notForwarded: Bool
        /// Listed, created, updated, unchanged, removed, drift, Okta calls, 429s.
        var numbers: [Int]
        var errors: String
    }

    var rows: [Row]

    init?(_ runs: [RunRecord], slug: String) {
        guard !runs.isEmpty else { return nil }
        rows = runs.map { run in
            Row(
                slug: slug, id: run.id, trigger: run.trigger.rawValue, dryRun: run.dryRun,
                startedAt: run.startedAt.iso8601, duration: RunPageModel.duration(run),
                tone: RunPageModel.tone(run.outcome), outcome: run.outcome.rawValue,
                notForwarded: run.forwarded == false,
                numbers: [
                    run.counts.listed, run.counts.created, run.counts.updated, run.counts.unchanged,
                    run.counts.removed, run.drift, run.oktaCalls.values.reduce(0, +), run.rateLimited,
                ],
                errors: run.errors.first.map { $0 + (run.errors.count > 1 ? " (+\(run.errors.count - 1) more)" : "") }
                    ?? "")
        }
    }
}

/// One run (`run.mustache`); for a held run, the users it would remove and the way to confirm.
struct RunPageModel {
    struct Held {
        struct Removals {
            struct User {
                var userId: String
                var login: String
                var status: String
                var updatedAt: String
            }

            var total: Int
            var plural: String
            var users: [User]
            var truncated: Bool
            var shown: Int
        }

        var unavailable: String?
        var removals: Removals?
        var confirm: ButtonModel
    }

    var csrf: String?
    var id: Int64
    var slug: String
    var connectorName: String
    var tone: String
    var outcome: String
    var trigger: String
    var dryRun: Bool
    var startedAt: String
    var duration: String
    var listed: Int
    var created: Int
    var updated: Int
    var unchanged: Int
    var removed: Int
    var drift: Int
    /// Updated users whose record changed in `User.LastLogon` alone (not drift).
    var lastLogonUpdates: Int
    var oktaCalls: String
    var rateLimited: Int
    var owner: String
    /// Whether a CLI `reconcile`'s changes reached the sink; `nil` for runs whose changes `serve`'s
    /// forwarder sends.
    var forwarded: String?
    /// The run's errors; `nil` when it had none.
    var errorList: ErrorList?
    var held: Held?

    struct ErrorList {
        var items: [String]
    }

    static func duration(_ run: RunRecord) -> String {
        guard let ended = run.endedAt else { return "running" }
        let seconds = Double(ended.millisecondsSinceEpoch - run.startedAt.millisecondsSinceEpoch) / 1000
        return String(format: "%.1f s", seconds)
    }

    /// The run page's line on forwarding (`runs show` says the same).
    static func forwarded(_ run: RunRecord) -> String? {
        run.forwarded.map { $0 ? "yes" : "no: the sink did not take the changes; they stay queued" }
    }

    static func tone(_ outcome: RunOutcome) -> String {
        switch outcome {
        case .succeeded: "ok"
        case .running: "off"
        case .held, .cancelled, .interrupted: "warn"
        case .failed: "bad"
        }
    }
}

/// The changes the sink rejected and the events that could not be applied (`dead-letters.mustache`).
struct DeadLettersModel {
    struct LetterRow {
        var id: Int64
        var failedAt: String
        var operation: String
        var version: Int64
        var userId: String
        var reason: String
        var replay: ButtonModel
    }

    struct EventRow {
        var id: Int64
        var failedAt: String
        var eventType: String
        var userId: String
        var attempts: Int
        var lastError: String
        var retry: ButtonModel
    }

    struct Table<Row> {
        var rows: [Row]
    }

    var csrf: String?
    var connectorName: String
    var slug: String
    var letterCount: Int
    var eventCount: Int
    var letterTable: Table<LetterRow>?
    var replayAll: ButtonModel
    var eventTable: Table<EventRow>?
    var retryAll: ButtonModel
}

/// The actions that take an input (`actions.mustache`), on a page that does not refresh.
struct ActionsModel {
    var csrf: String?
    var connectorName: String
    var slug: String
    var hookPath: String
    /// `event_hook.public_url`, the only URL the console registers; `nil` when not configured.
    var publicURL: String?
}
