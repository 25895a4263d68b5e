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

/// What every console page shows around its content: the navigation, the sign-out button, the
/// notice left by the last action.
struct ConsoleChrome {
    /// The session's CSRF token (`nil` for a bearer token: no forms then need one).
    var csrf: String?
    var notice: String?
    /// Every connector, for the navigation: name and URL name.
    var connectors: [(name: String, slug: String)]
    /// Seconds between refreshes; `nil` for pages with inputs (a refresh would lose what was typed).
    var refresh: Int?
    /// Whether the person paused the refreshing (WCAG 2.2.1: a time limit the user can turn off).
    var refreshPaused = false
    /// The page's own path, where the pause button returns to.
    var path = "/"

    /// A page without navigation or forms (sign-in, refusals).
    static let bare = ConsoleChrome(csrf: nil, notice: nil, connectors: [], refresh: nil)

    /// How the page says it refreshes.
    var refreshText: String { refreshPaused ? "refreshing paused" : "refreshes every \(refresh ?? 15) s" }
}

/// One connector's page, as the console shows it.
struct ConnectorPageData {
    var status: StatusReport.Connector
    var hooks: EventHookMonitor.Observation?
    /// Per bucket Okta reported: limit, remaining, seconds to the reset.
    var buckets: [(bucket: OktaBucket, limit: Int, remaining: Int, resetIn: TimeInterval)]
    var rateLimitShare: Double
    /// Events received in each of the last 60 minutes, oldest first, with the minute's start.
    var eventsPerMinute: [(minute: Date, events: Int)]
    var generatedAt: Date
}

/// The console's server-rendered pages (SPEC §11): plain HTML and inline SVG from the templates of
/// ``ConsoleTemplates``, no script and no external asset, usable with any browser and a screen
/// reader. Each function turns what a page shows into its template's model and renders it.
enum ConsolePages {
    /// A whole page: the page's template with its model, inside the layout.
    static func page(
        title: String, chrome: ConsoleChrome, template: String, model: Any, status: HTTPResponse.Status = .ok
    ) -> Response {
        let body = ConsoleTemplates.render(model, template)
        let text = ConsoleTemplates.render(LayoutModel(title: title, chrome: chrome, body: body), "layout")
        // The `Refresh` header rather than a `<meta>` refresh: the same in every browser, and the
        // pause button turns it off for the session (a screen reader's place is not lost).
        return html(text, status: status, refresh: chrome.refresh.flatMap { chrome.refreshPaused ? nil : $0 })
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok, refresh: Int? = nil) -> Response {
        var response = Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                // Nothing but this page's own inline style; no frames of it elsewhere.
                .contentSecurityPolicy:
                    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
                .xContentTypeOptions: "nosniff", .referrerPolicy: "same-origin",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        if let refresh { response.headers[.refresh] = "\(refresh)" }
        return response
    }

    /// The sign-in page.
    static func signIn(next: String, error: String?, status: HTTPResponse.Status = .ok) -> Response {
        struct Model {
            var next: String
            var error: String?
        }
        return page(
            title: "Sign in", chrome: .bare, template: "sign-in", model: Model(next: next, error: error),
            status: status)
    }

    /// A page with one message (refusals, errors).
    static func message(title: String, text: String, status: HTTPResponse.Status) -> Response {
        struct Model {
            var title: String
            var text: String
        }
        return page(
            title: title, chrome: .bare, template: "message", model: Model(title: title, text: text), status: status)
    }

    /// No connector of the name in the URL.
    static func notFound(chrome: ConsoleChrome) -> Response {
        page(title: "Not found", chrome: chrome, template: "not-found", model: chrome, status: .notFound)
    }

    /// Every connector at a glance.
    static func overview(_ report: StatusReport, chrome: ConsoleChrome) -> Response {
        let model = OverviewModel(
            generatedAt: Timestamp(report.generatedAt).iso8601, refreshText: chrome.refreshText,
            connectors: report.connectors.map { ConnectorStateModel($0, now: report.generatedAt, compactChart: true) })
        return page(title: "Overview", chrome: chrome, template: "overview", model: model)
    }

    /// One connector: state, actions, charts, the event hook, rate limits, runs.
    static func connector(_ data: ConnectorPageData, chrome: ConsoleChrome) -> Response {
        let connector = data.status
        let base = "/connectors/\(connector.slug)"
        let model = ConnectorPageModel(
            csrf: chrome.csrf, connector: ConnectorStateModel(connector, now: data.generatedAt, compactChart: false),
            healthTone: healthTone(connector.health), healthState: connector.health?.state ?? "unknown",
            refreshText: chrome.refreshText,
            buttons: [
                ButtonModel(
                    label: "Re-send every user to the sink", action: "\(base)/resync-all", buttonClass: "secondary"),
                ButtonModel(label: "Re-verify the event hook", action: "\(base)/hook/verify", buttonClass: "secondary"),
            ],
            running: connector.runs.first { $0.outcome == .running }.map {
                ConnectorPageModel.Running(
                    id: $0.id, trigger: $0.trigger.rawValue, listed: $0.counts.listed, waiting: connector.rateLimitWait)
            },
            heldId: connector.runs.first { $0.outcome == .held }?.id,
            worker: connector.workerHolder.map { "replica \($0)" } ?? "no replica holds the worker lease",
            outboxOldest: connector.outboxOldest.map { StatusPage.age($0.date, now: data.generatedAt) }
                ?? "nothing queued",
            hookState: HookStateModel(data.hooks, now: data.generatedAt),
            rateLimitTable: RateLimitTableModel(data.buckets, share: data.rateLimitShare),
            eventsChart: ConsoleCharts.events(data.eventsPerMinute),
            runsTable: RunsTableModel(connector.runs, slug: connector.slug))
        return page(title: connector.name, chrome: chrome, template: "connector", model: model)
    }

    /// The tone of a health badge.
    static func healthTone(_ health: ConnectorHealth?) -> String {
        switch health {
        case nil: "off"
        case .running: "ok"
        case .degraded, .restarting: "warn"
        case .stopped: "off"
        }
    }

    /// One run: its counts and errors; for a held run, the users it would remove and the way to confirm.
    static func run(
        _ run: RunRecord, connectorName: String, removals: HeldRunRemovals.Answer?, chrome: ConsoleChrome
    ) -> Response {
        let calls = run.oktaCalls.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        let model = RunPageModel(
            csrf: chrome.csrf, id: run.id, slug: run.connector, connectorName: connectorName,
            tone: RunPageModel.tone(run.outcome), outcome: run.outcome.rawValue, trigger: run.trigger.rawValue,
            dryRun: run.dryRun, startedAt: run.startedAt.iso8601, duration: RunPageModel.duration(run),
            listed: run.counts.listed, created: run.counts.created, updated: run.counts.updated,
            unchanged: run.counts.unchanged, removed: run.counts.removed, drift: run.drift,
            lastLogonUpdates: run.lastLogonUpdates,
            oktaCalls: calls.isEmpty ? "none" : calls.joined(separator: ", "), rateLimited: run.rateLimited,
            owner: run.owner ?? "not recorded", forwarded: RunPageModel.forwarded(run),
            errorList: run.errors.isEmpty ? nil : RunPageModel.ErrorList(items: run.errors),
            held: run.outcome == .held ? held(run, removals: removals) : nil)
        return page(title: "Run #\(run.id)", chrome: chrome, template: "run", model: model)
    }

    /// What a held run would remove, and the button that confirms.
    static func held(_ run: RunRecord, removals: HeldRunRemovals.Answer?) -> RunPageModel.Held {
        var held = RunPageModel.Held(
            confirm: ButtonModel(
                label: "Run again and apply the removals",
                action: "/connectors/\(run.connector)/runs/\(run.id)/confirm-removals", buttonClass: "danger"))
        switch removals {
        case .unavailable(let why):
            held.unavailable = why
        case .users(let users, let total):
            held.removals = RunPageModel.Held.Removals(
                total: total, plural: total == 1 ? "" : "s",
                users: users.map { user in
                    .init(
                        userId: user.userId, login: user.snapshot.user.profile["login"]?.stringValue ?? "",
                        status: user.status, updatedAt: user.updatedAt.iso8601)
                }, truncated: total > users.count, shown: users.count)
        case nil:
            break
        }
        return held
    }

    /// The changes the sink rejected and the events that could not be applied, with replay.
    static func deadLetters(
        connectorName: String, slug: String, letters: [DeadLetter], letterCount: Int, events: [FailedInboxEvent],
        eventCount: Int, chrome: ConsoleChrome
    ) -> Response {
        let base = "/connectors/\(slug)"
        let letterRows = letters.map { letter in
            DeadLettersModel.LetterRow(
                id: letter.id, failedAt: letter.failedAt.iso8601, operation: letter.operation.rawValue,
                version: letter.version, userId: letter.userId, reason: letter.reason,
                replay: ButtonModel(
                    label: "Replay", action: "\(base)/dead-letters/replay", buttonClass: "secondary",
                    fields: [.init(name: "id", value: "\(letter.id)")]))
        }
        let eventRows = events.map { event in
            DeadLettersModel.EventRow(
                id: event.seq, failedAt: event.failedAt.iso8601, eventType: event.eventType,
                userId: event.subjectUserId ?? "-", attempts: event.attempts, lastError: event.lastError,
                retry: ButtonModel(
                    label: "Retry", action: "\(base)/failed-events/retry", buttonClass: "secondary",
                    fields: [.init(name: "id", value: "\(event.seq)")]))
        }
        let model = DeadLettersModel(
            csrf: chrome.csrf, connectorName: connectorName, slug: slug, letterCount: letterCount,
            eventCount: eventCount, letterTable: letterRows.isEmpty ? nil : .init(rows: letterRows),
            replayAll: ButtonModel(label: "Replay all \(letterCount)", action: "\(base)/dead-letters/replay"),
            eventTable: eventRows.isEmpty ? nil : .init(rows: eventRows),
            retryAll: ButtonModel(label: "Retry all \(eventCount)", action: "\(base)/failed-events/retry"))
        return page(title: "Dead letters", chrome: chrome, template: "dead-letters", model: model)
    }

    /// The actions that take an input: they live on a page that does not refresh.
    static func actions(
        connectorName: String, slug: String, hookPath: String, publicURL: String?, chrome: ConsoleChrome
    ) -> Response {
        let model = ActionsModel(
            csrf: chrome.csrf, connectorName: connectorName, slug: slug, hookPath: hookPath, publicURL: publicURL)
        return page(title: "Actions", chrome: chrome, template: "actions", model: model)
    }
}

extension HTTPField.Name {
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    /// Reloads the page after the given seconds (every current browser follows it).
    static let refresh = HTTPField.Name("Refresh")!
}
