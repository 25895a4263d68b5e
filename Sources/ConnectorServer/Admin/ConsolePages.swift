import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Foundation
import HTTPTypes
import Hummingbird
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

/// The console's server-rendered pages (SPEC §11): plain HTML and inline SVG, no script and no
/// external asset, usable with any browser and a screen reader.
enum ConsolePages {
    static func escape(_ text: String) -> String { StatusPage.escape(text) }

    static let style = """
        :root{color-scheme:light}
        body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#111;background:#f7f7f8}
        header{background:#1e293b;color:#fff;padding:.6rem 1.5rem;display:flex;gap:1.5rem;align-items:center;flex-wrap:wrap}
        header a{color:#fff}header .brand{font-weight:700;text-decoration:none}
        header nav ul{list-style:none;display:flex;gap:1rem;margin:0;padding:0;flex-wrap:wrap}
        header form:first-of-type{margin-left:auto}
        main{padding:1rem 1.5rem 3rem;max-width:72rem}
        h1{font-size:1.5rem;margin:.5rem 0}h2{font-size:1.2rem;margin:1.5rem 0 .4rem}h3{font-size:1rem;margin:1rem 0 .3rem}
        a{color:#1d4ed8}
        .card{background:#fff;border:1px solid #d4d4d8;border-radius:8px;padding:1rem 1.25rem;margin:1rem 0}
        dl{display:grid;grid-template-columns:10rem 1fr;gap:.25rem .75rem;margin:.5rem 0}dt{color:#3f3f46;font-weight:600}dd{margin:0}
        .muted{color:#52525b}
        .badge{display:inline-block;font-size:.8rem;padding:.05rem .5rem;border-radius:999px;border:1px solid currentColor}
        .ok{color:#166534}.warn{color:#92400e}.bad{color:#991b1b}.off{color:#3f3f46}
        .badge.ok{background:#dcfce7}.badge.warn{background:#fef3c7}.badge.bad{background:#fee2e2}.badge.off{background:#f4f4f5}
        table{border-collapse:collapse;background:#fff;margin:.5rem 0;font-size:.9rem}
        th,td{border:1px solid #d4d4d8;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f4f4f5}
        td.number{text-align:right;font-variant-numeric:tabular-nums}
        .notice{background:#eff6ff;border:1px solid #1d4ed8;color:#1e3a8a;border-radius:6px;padding:.5rem .75rem}
        .error{background:#fef2f2;border:1px solid #991b1b;color:#7f1d1d;border-radius:6px;padding:.5rem .75rem}
        form.inline{display:inline}
        .actions{display:flex;gap:.75rem;flex-wrap:wrap;align-items:center}
        button{font:inherit;background:#1d4ed8;color:#fff;border:0;border-radius:6px;padding:.35rem .9rem;cursor:pointer}
        button.secondary{background:#fff;color:#1d4ed8;border:1px solid #1d4ed8}
        button.danger{background:#991b1b}
        header button{background:#fff;color:#1e293b}
        input[type=text],input[type=password],input[type=url]{font:inherit;padding:.3rem .5rem;border:1px solid #71717a;border-radius:6px;min-width:18rem}
        :focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
        .chart{background:#fff;border:1px solid #d4d4d8;border-radius:6px;max-width:100%;height:auto}
        .chart .grid{stroke:#e4e4e7}.chart .axis{stroke:#3f3f46}.chart text{font-size:11px;fill:#3f3f46}
        .chart .axis-name{font-size:12px;fill:#111}.chart .value{font-size:10px;fill:#111}
        .chart .bar.ok{fill:#2563eb}.chart .bar.warn{fill:#d97706}.chart .bar.bad{fill:#dc2626}.chart .bar.info{fill:#0f766e}
        .visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
        """

    /// A whole page.
    static func page(title: String, chrome: ConsoleChrome, body: String, status: HTTPResponse.Status = .ok) -> Response
    {
        // The `Refresh` header rather than a `<meta>` refresh: the same in every browser, and the
        // pause button below turns it off for the session (a screen reader's place is not lost).
        let refreshing = chrome.refresh.flatMap { chrome.refreshPaused ? nil : $0 }
        var refreshControl = ""
        if let seconds = chrome.refresh, let csrf = chrome.csrf {
            let label = chrome.refreshPaused ? "Resume refreshing" : "Pause refreshing (every \(seconds) s)"
            refreshControl =
                "<form method=\"post\" action=\"/preferences/refresh\">" + csrfField(csrf)
                + "<input type=\"hidden\" name=\"next\" value=\"\(escape(chrome.path))\">"
                + "<input type=\"hidden\" name=\"paused\" value=\"\(chrome.refreshPaused ? "off" : "on")\">"
                + "<button type=\"submit\" class=\"secondary\">\(label)</button></form>"
        }
        let navigation = chrome.connectors.map {
            "<li><a href=\"/connectors/\(escape($0.slug))\">\(escape($0.name))</a></li>"
        }.joined()
        let signOut =
            chrome.csrf.map {
                "<form method=\"post\" action=\"/sign-out\">\(csrfField($0))<button type=\"submit\">Sign out</button></form>"
            } ?? ""
        let notice = chrome.notice.map { "<p class=\"notice\" role=\"status\">\(escape($0))</p>" } ?? ""
        return html(
            """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title)) · okta-connector</title>
            <style>\(style)</style></head>
            <body>
            <header><a class="brand" href="/">okta-connector</a>
            <nav aria-label="Connectors"><ul><li><a href="/">Overview</a></li>\(navigation)</ul></nav>\(refreshControl)\(signOut)</header>
            <main>
            \(notice)
            \(body)
            </main>
            </body></html>
            """, status: status, refresh: refreshing)
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

    static func csrfField(_ token: String) -> String {
        "<input type=\"hidden\" name=\"csrf\" value=\"\(escape(token))\">"
    }

    /// A form with one button posting to `action`.
    static func button(
        _ label: String, action: String, csrf: String?, style: String = "", fields: [(String, String)] = []
    ) -> String {
        let hidden = fields.map { "<input type=\"hidden\" name=\"\(escape($0.0))\" value=\"\(escape($0.1))\">" }
            .joined()
        return
            "<form class=\"inline\" method=\"post\" action=\"\(escape(action))\">\(csrf.map(csrfField) ?? "")\(hidden)"
            + "<button type=\"submit\"\(style.isEmpty ? "" : " class=\"\(style)\"")>\(escape(label))</button></form>"
    }

    // MARK: sign-in

    /// The sign-in page.
    static func signIn(next: String, error: String?, status: HTTPResponse.Status = .ok) -> Response {
        let problem = error.map { "<p class=\"error\" role=\"alert\">\(escape($0))</p>" } ?? ""
        return page(
            title: "Sign in", chrome: ConsoleChrome(csrf: nil, notice: nil, connectors: [], refresh: nil),
            body: """
                <h1>Sign in</h1>
                <div class="card">
                \(problem)
                <form method="post" action="/sign-in">
                <input type="hidden" name="next" value="\(escape(next))">
                <p><label for="token">Admin token</label><br>
                <input type="password" id="token" name="token" autocomplete="current-password" required autofocus></p>
                <p class="muted">The token of <code>server.admin.token</code> in the configuration. The session lasts until you sign out, for a bounded time, or until the token is rotated.</p>
                <p><button type="submit">Sign in</button></p>
                </form></div>
                """, status: status)
    }

    /// A page with one message (refusals, errors).
    static func message(title: String, text: String, status: HTTPResponse.Status) -> Response {
        page(
            title: title, chrome: ConsoleChrome(csrf: nil, notice: nil, connectors: [], refresh: nil),
            body:
                "<h1>\(escape(title))</h1><p class=\"error\" role=\"alert\">\(escape(text))</p><p><a href=\"/\">Back to the overview</a></p>",
            status: status)
    }

    // MARK: overview

    static func healthBadge(_ health: ConnectorHealth?) -> String {
        guard let health else { return "<span class=\"badge off\">unknown</span>" }
        let tone: String
        switch health {
        case .running: tone = "ok"
        case .degraded, .restarting: tone = "warn"
        case .stopped: tone = "off"
        }
        return "<span class=\"badge \(tone)\">\(escape(health.state))</span>"
    }

    /// Where System Log polling stands (SPEC §17), for connectors that poll.
    static func systemLogText(_ connector: StatusReport.Connector, now: Date) -> String? {
        guard connector.eventSource != "hooks" else { return nil }
        guard let cursor = connector.systemLog else {
            return "event source \(escape(connector.eventSource)); not polled yet"
        }
        var parts = ["event source \(escape(connector.eventSource))"]
        if let newest = cursor.newestPublished {
            parts.append("lag \(Int64(saturating: max(0, now.timeIntervalSince(newest.date)))) s")
        }
        if let at = cursor.lastPollAt {
            parts.append(
                "last poll \(StatusPage.age(at.date, now: now))\(cursor.lastOutcome.map { ": \(escape($0))" } ?? "")")
        }
        parts.append("\(cursor.polledEvents) events polled, \(cursor.missedDeliveries) missed by the hook")
        return parts.joined(separator: " · ")
    }

    static func lastRunText(_ run: RunRecord?, now: Date) -> String {
        guard let run else { return "none yet" }
        return
            "<a href=\"/connectors/\(escape(run.connector))/runs/\(run.id)\">#\(run.id)</a> \(escape(run.outcome.rawValue))\(run.dryRun ? " (dry run)" : "") "
            + "\(StatusPage.age(run.startedAt.date, now: now)): \(run.counts.listed) listed, "
            + "\(run.counts.created + run.counts.updated) changed, \(run.counts.removed) removed, drift \(run.drift)"
    }

    /// Every connector at a glance.
    static func overview(_ report: StatusReport, chrome: ConsoleChrome) -> Response {
        let now = report.generatedAt
        var sections = ""
        for connector in report.connectors {
            let last = connector.runs.first { $0.outcome != .running }
            let running = connector.runs.first { $0.outcome == .running }
            let arriving = connector.lastDelivery.map { now.timeIntervalSince($0) < 3600 } ?? false
            let link = "/connectors/\(escape(connector.slug))"
            sections += """
                <section class="card connector" data-connector="\(escape(connector.slug))" aria-labelledby="c-\(escape(connector.slug))">
                  <h2 id="c-\(escape(connector.slug))"><a href="\(link)">\(escape(connector.name))</a> <span class="badge \(connector.active ? "ok" : "off")">\(connector.active ? "active" : "inactive")</span></h2>
                  <p class="muted">\(escape(connector.oktaURL)) · server \(escape(connector.server))</p>
                  <dl>
                    <dt>Health</dt><dd class="health \(StatusPage.healthClass(connector.health))">\(escape(connector.health?.description ?? "unknown"))</dd>
                    <dt>Events</dt><dd class="events \(arriving ? "ok" : "warn")">\(arriving ? "arriving" : "none in the last hour") (last delivery \(StatusPage.age(connector.lastDelivery, now: now)))</dd>
                    \(systemLogText(connector, now: now).map { "<dt>System Log</dt><dd class=\"system-log\">\($0)</dd>" } ?? "")
                    <dt>Inbox</dt><dd class="inbox">\(connector.inboxDepth) waiting</dd>
                    <dt>Outbox</dt><dd class="outbox">\(connector.outboxDepth) queued\(connector.outboxOldest.map { ", oldest \(StatusPage.age($0.date, now: now))" } ?? "")</dd>
                    <dt>Failed events</dt><dd class="failed-events \(connector.failedEvents > 0 ? "bad" : "")"><a href="\(link)/dead-letters#failed-events">\(connector.failedEvents)</a></dd>
                    <dt>Dead letters</dt><dd class="dead-letters \(connector.deadLetters > 0 ? "bad" : "")"><a href="\(link)/dead-letters">\(connector.deadLetters)</a></dd>
                    <dt>Last run</dt><dd class="last-run">\(lastRunText(last, now: now))\(running.map { " · run #\($0.id) in progress" } ?? "")</dd>
                    <dt>Next run</dt><dd class="next-run">\(connector.nextDue?.iso8601 ?? "not scheduled") (\(escape(connector.schedule)))</dd>
                  </dl>
                  \(driftChart(connector.runs, id: "drift-\(connector.slug)", compact: true))
                </section>
                """
        }
        return page(
            title: "Overview", chrome: chrome,
            body: """
                <h1>Overview</h1>
                <p class="muted">Status at \(Timestamp(now).iso8601)\(chrome.refreshPaused ? " · refreshing paused" : " · refreshes every \(chrome.refresh ?? 15) s")</p>
                \(sections.isEmpty ? "<p>No connectors run by this process.</p>" : sections)
                """)
    }

    static func driftChart(_ runs: [RunRecord], id: String, compact: Bool = false) -> String {
        let finished = runs.filter { $0.outcome != .running && !$0.dryRun }.prefix(compact ? 15 : 30).reversed()
        guard !finished.isEmpty else { return "<p class=\"muted\">No runs yet.</p>" }
        let bars = finished.map { run in
            ConsoleCharts.Bar(
                label: "#\(run.id)", value: run.drift,
                tone: run.outcome == .succeeded ? "ok" : (run.outcome == .held ? "warn" : "bad"),
                title: "run \(run.id) \(run.outcome.rawValue): drift \(run.drift)")
        }
        return ConsoleCharts.bars(
            id: id, title: "Drift per run (changes events should have delivered)", bars: Array(bars),
            valueAxis: "drift", categoryAxis: "run", labelEvery: finished.count > 15 ? 2 : 1)
    }

    // MARK: connector

    /// One connector: state, actions, charts, the event hook, rate limits, runs.
    static func connector(_ data: ConnectorPageData, chrome: ConsoleChrome) -> Response {
        let connector = data.status
        let now = data.generatedAt
        let slug = escape(connector.slug)
        let base = "/connectors/\(slug)"
        let running = connector.runs.first { $0.outcome == .running }
        let arriving = connector.lastDelivery.map { now.timeIntervalSince($0) < 3600 } ?? false
        let events = data.eventsPerMinute.map { minute in
            let label = Timestamp(minute.minute).iso8601.dropFirst(11).prefix(5)
            return ConsoleCharts.Bar(
                label: String(label), value: minute.events, tone: "info", title: "\(label) UTC: \(minute.events) events"
            )
        }
        let held = connector.runs.first { $0.outcome == .held }
        let body = """
            <h1>\(escape(connector.name)) \(healthBadge(connector.health)) <span class="badge \(connector.active ? "ok" : "off")">\(connector.active ? "active" : "inactive")</span></h1>
            <p class="muted">\(escape(connector.oktaURL)) · URL name \(slug) · schedule \(escape(connector.schedule))\(chrome.refreshPaused ? " · refreshing paused" : " · refreshes every \(chrome.refresh ?? 15) s")</p>
            <section class="card" aria-labelledby="actions"><h2 id="actions">Actions</h2>
            <div class="actions">
            <form class="inline" method="post" action="\(base)/reconcile">\(chrome.csrf.map(csrfField) ?? "")
            <button type="submit">Run reconcile now</button>
            <input type="checkbox" id="dry_run" name="dry_run" value="on"><label for="dry_run">dry run (report only, change nothing)</label></form>
            \(button("Re-send every user to the sink", action: "\(base)/resync-all", csrf: chrome.csrf, style: "secondary"))
            \(button("Re-verify the event hook", action: "\(base)/hook/verify", csrf: chrome.csrf, style: "secondary"))
            <a href="\(base)/actions">Resync one user, re-register the hook…</a>
            </div>
            \(running.map { "<p class=\"notice\" role=\"status\">Run #\($0.id) (\(escape($0.trigger.rawValue))) in progress: \($0.counts.listed) users listed so far.</p>" } ?? "")
            \(held.map { "<p class=\"error\">Run <a href=\"\(base)/runs/\($0.id)\">#\($0.id)</a> was held by the circuit breaker: see what it would remove and confirm.</p>" } ?? "")
            </section>
            <section class="card" aria-labelledby="state"><h2 id="state">State</h2>
            <dl>
              <dt>Health</dt><dd class="health \(StatusPage.healthClass(connector.health))">\(escape(connector.health?.description ?? "unknown"))</dd>
              <dt>Worker</dt><dd>\(escape(connector.workerHolder.map { "replica \($0)" } ?? "no replica holds the worker lease"))</dd>
              <dt>Events</dt><dd class="events \(arriving ? "ok" : "warn")">\(arriving ? "arriving" : "none in the last hour") (last delivery \(StatusPage.age(connector.lastDelivery, now: now)), hook path \(escape(connector.hookPath)))</dd>
              \(systemLogText(connector, now: now).map { "<dt>System Log</dt><dd class=\"system-log\">\($0)</dd>" } ?? "")
              <dt>Inbox</dt><dd class="inbox">\(connector.inboxDepth) waiting</dd>
              <dt>Outbox depth</dt><dd class="outbox">\(connector.outboxDepth) queued</dd>
              <dt>Outbox oldest</dt><dd class="outbox-oldest">\(connector.outboxOldest.map { StatusPage.age($0.date, now: now) } ?? "nothing queued")</dd>
              <dt>Failed events</dt><dd class="failed-events"><a href="\(base)/dead-letters#failed-events">\(connector.failedEvents)</a></dd>
              <dt>Dead letters</dt><dd class="dead-letters"><a href="\(base)/dead-letters">\(connector.deadLetters)</a></dd>
              <dt>Next run</dt><dd class="next-run">\(connector.nextDue?.iso8601 ?? "not scheduled")</dd>
            </dl></section>
            <section class="card" aria-labelledby="hook"><h2 id="hook">Event hook in Okta</h2>
            \(hookTable(data.hooks, now: now))
            </section>
            <section class="card" aria-labelledby="limits"><h2 id="limits">Okta rate limits</h2>
            \(rateLimitTable(data.buckets, share: data.rateLimitShare))
            </section>
            <section class="card" aria-labelledby="charts"><h2 id="charts">Charts</h2>
            <h3>Drift per run</h3>
            \(driftChart(connector.runs, id: "drift"))
            <h3>Events received per minute, last hour (UTC)</h3>
            \(ConsoleCharts.bars(id: "events", title: "Events received per minute over the last hour", bars: events, valueAxis: "events", categoryAxis: "minute (UTC)", labelEvery: 10))
            </section>
            <section class="card" aria-labelledby="runs"><h2 id="runs">Runs</h2>
            \(runsTable(connector.runs, slug: connector.slug))
            </section>
            """
        return page(title: connector.name, chrome: chrome, body: body)
    }

    static func hookTable(_ observation: EventHookMonitor.Observation?, now: Date) -> String {
        guard let observation else {
            return
                "<p class=\"muted hook-state\">Not asked yet: the state is read from Okta shortly after start, then every few minutes.</p>"
        }
        var text = ""
        if let error = observation.error {
            text +=
                "<p class=\"error hook-state\">Okta could not be asked (\(StatusPage.age(observation.triedAt, now: now))): \(escape(error))</p>"
        }
        if observation.checkedAt != nil && observation.hooks.isEmpty {
            text +=
                "<p class=\"error hook-state\">No event hook in Okta delivers to this connector's path: events arrive only through the reconcile. Register one under <em>Actions</em>.</p>"
        }
        if !observation.hooks.isEmpty {
            text +=
                "<table class=\"hook-state\"><caption class=\"visually-hidden\">Event hooks delivering to this connector</caption>"
                + "<thead><tr><th scope=\"col\">Hook</th><th scope=\"col\">Status</th><th scope=\"col\">Verification</th><th scope=\"col\">URL</th></tr></thead><tbody>"
            for hook in observation.hooks {
                let statusTone = hook.status == "ACTIVE" ? "ok" : "bad"
                let verifiedTone = hook.verificationStatus == "VERIFIED" ? "ok" : "bad"
                text +=
                    "<tr><td>\(escape(hook.id ?? "?"))<br><span class=\"muted\">\(escape(hook.name))</span></td>"
                    + "<td><span class=\"badge \(statusTone)\">\(escape(hook.status ?? "?"))</span></td>"
                    + "<td><span class=\"badge \(verifiedTone)\">\(escape(hook.verificationStatus ?? "?"))</span></td>"
                    + "<td>\(escape(hook.channel.config.uri))</td></tr>"
            }
            text += "</tbody></table>"
        }
        if let checked = observation.checkedAt {
            text +=
                "<p class=\"muted\">Read from Okta \(StatusPage.age(checked, now: now)); only ACTIVE and VERIFIED hooks receive events.</p>"
        }
        return text
    }

    static func rateLimitTable(
        _ buckets: [(bucket: OktaBucket, limit: Int, remaining: Int, resetIn: TimeInterval)], share: Double
    ) -> String {
        guard !buckets.isEmpty else {
            return
                "<p class=\"muted\">No Okta answer yet in this process: the limits are learnt from Okta's X-Rate-Limit headers.</p>"
        }
        var text =
            "<table class=\"rate-limits\"><caption class=\"visually-hidden\">Okta rate-limit buckets</caption><thead><tr>"
            + "<th scope=\"col\">Bucket</th><th scope=\"col\">Limit per window</th><th scope=\"col\">Remaining</th>"
            + "<th scope=\"col\">Headroom</th><th scope=\"col\">Resets in</th></tr></thead><tbody>"
        for entry in buckets {
            let headroom = entry.limit > 0 ? Int((Double(entry.remaining) / Double(entry.limit) * 100).rounded()) : 0
            let reserve = Int(((1 - share) * 100).rounded())
            let tone = headroom > reserve ? "ok" : (headroom > reserve / 2 ? "warn" : "bad")
            text +=
                "<tr><th scope=\"row\">\(escape(entry.bucket.shortName)) <span class=\"muted\">(\(escape(entry.bucket.rawValue)))</span></th>"
                + "<td class=\"number\">\(entry.limit)</td><td class=\"number\">\(entry.remaining)</td>"
                + "<td class=\"number \(tone)\">\(headroom)%</td><td class=\"number\">\(max(0, Int(entry.resetIn.rounded()))) s</td></tr>"
        }
        return text
            + "</tbody></table><p class=\"muted\">The connector uses at most \(Int((share * 100).rounded()))% of each bucket (<code>rate_limit_share</code>); the rest is left to the org's other clients.</p>"
    }

    static func duration(_ run: RunRecord) -> String {
        guard let ended = run.endedAt else { return "running" }
        let seconds = Double(ended.millisecondsSinceEpoch - run.startedAt.millisecondsSinceEpoch) / 1000
        return String(format: "%.1f s", seconds)
    }

    static func outcomeTone(_ outcome: RunOutcome) -> String {
        switch outcome {
        case .succeeded: "ok"
        case .running: "off"
        case .held, .cancelled, .interrupted: "warn"
        case .failed: "bad"
        }
    }

    static func runsTable(_ runs: [RunRecord], slug: String) -> String {
        guard !runs.isEmpty else { return "<p class=\"muted\">No runs yet.</p>" }
        var text =
            "<table class=\"runs\"><caption class=\"visually-hidden\">Reconcile runs, newest first</caption><thead><tr>"
            + [
                "Run", "Trigger", "Started (UTC)", "Duration", "Outcome", "Listed", "Created", "Updated", "Unchanged",
                "Removed", "Drift", "Okta calls", "429s", "Errors",
            ].map { "<th scope=\"col\">\($0)</th>" }.joined()
            + "</tr></thead><tbody>"
        for run in runs {
            let errors =
                run.errors.first.map { escape($0) + (run.errors.count > 1 ? " (+\(run.errors.count - 1) more)" : "") }
                ?? ""
            text +=
                "<tr data-run=\"\(run.id)\"><td><a href=\"/connectors/\(escape(slug))/runs/\(run.id)\">#\(run.id)</a></td>"
                + "<td>\(escape(run.trigger.rawValue))\(run.dryRun ? " (dry run)" : "")</td><td>\(run.startedAt.iso8601)</td>"
                + "<td class=\"number\">\(duration(run))</td>"
                + "<td><span class=\"badge \(outcomeTone(run.outcome))\">\(escape(run.outcome.rawValue))</span></td>"
                + [
                    run.counts.listed, run.counts.created, run.counts.updated, run.counts.unchanged, run.counts.removed,
                    run.drift, run.oktaCalls.values.reduce(0, +), run.rateLimited,
                ].map { "<td class=\"number\">\($0)</td>" }.joined()
                + "<td>\(errors)</td></tr>"
        }
        return text + "</tbody></table>"
    }

    // MARK: run

    /// One run: its counts and errors; for a held run, the users it would remove and the way to confirm.
    static func run(
        _ run: RunRecord, connectorName: String, removals: HeldRunRemovals.Answer?, chrome: ConsoleChrome
    ) -> Response {
        let base = "/connectors/\(escape(run.connector))"
        var body = """
            <h1>Run #\(run.id) of \(escape(connectorName)) <span class="badge \(outcomeTone(run.outcome))">\(escape(run.outcome.rawValue))</span></h1>
            <p><a href="\(base)">Back to \(escape(connectorName))</a></p>
            <section class="card"><dl>
            <dt>Trigger</dt><dd>\(escape(run.trigger.rawValue))\(run.dryRun ? " (dry run: nothing written)" : "")</dd>
            <dt>Started</dt><dd>\(run.startedAt.iso8601)</dd><dt>Duration</dt><dd>\(duration(run))</dd>
            <dt>Counts</dt><dd>\(run.counts.listed) listed, \(run.counts.created) created, \(run.counts.updated) updated, \(run.counts.unchanged) unchanged, \(run.counts.removed) removed</dd>
            <dt>Drift</dt><dd>\(run.drift)</dd>
            <dt>Okta calls</dt><dd>\(run.oktaCalls.sorted { $0.key < $1.key }.map { "\(escape($0.key)): \($0.value)" }.joined(separator: ", ").nonEmpty ?? "none"); \(run.rateLimited) answered 429</dd>
            <dt>Process</dt><dd>\(escape(run.owner ?? "not recorded"))</dd>
            </dl></section>
            <section class="card" aria-labelledby="errors"><h2 id="errors">Errors</h2>
            \(run.errors.isEmpty ? "<p class=\"muted\">None.</p>" : "<ul class=\"errors\">" + run.errors.map { "<li>\(escape($0))</li>" }.joined() + "</ul>")
            </section>
            """
        if run.outcome == .held {
            body += "<section class=\"card\" aria-labelledby=\"removals\"><h2 id=\"removals\">What it would remove</h2>"
            switch removals {
            case .unavailable(let why):
                body += "<p class=\"muted\">The list is not known: \(escape(why)).</p>"
            case .users(let users, let total):
                body +=
                    "<p>\(total) user\(total == 1 ? "" : "s") the run did not list:</p>"
                    + "<table class=\"removals\"><thead><tr><th scope=\"col\">User id</th><th scope=\"col\">Login</th><th scope=\"col\">Status</th><th scope=\"col\">Last updated here</th></tr></thead><tbody>"
                for user in users {
                    body +=
                        "<tr><td>\(escape(user.userId))</td><td>\(escape(user.snapshot.user.profile["login"]?.stringValue ?? ""))</td>"
                        + "<td>\(escape(user.status))</td><td>\(user.updatedAt.iso8601)</td></tr>"
                }
                body += "</tbody></table>"
                if total > users.count { body += "<p class=\"muted\">The first \(users.count) of \(total).</p>" }
            case nil:
                break
            }
            body +=
                "<p>Confirming runs the reconcile again with removals allowed: it lists Okta afresh and removes the users still missing.</p>"
                + button(
                    "Run again and apply the removals", action: "\(base)/runs/\(run.id)/confirm-removals",
                    csrf: chrome.csrf, style: "danger")
                + "</section>"
        }
        return page(title: "Run #\(run.id)", chrome: chrome, body: body)
    }

    // MARK: dead letters and failed events

    /// The changes the sink rejected and the events that could not be applied, with replay.
    static func deadLetters(
        connectorName: String, slug: String, letters: [DeadLetter], letterCount: Int, events: [FailedInboxEvent],
        eventCount: Int, chrome: ConsoleChrome
    ) -> Response {
        let base = "/connectors/\(escape(slug))"
        var body = """
            <h1>Dead letters and failed events of \(escape(connectorName))</h1>
            <p><a href="\(base)">Back to \(escape(connectorName))</a></p>
            <section class="card" aria-labelledby="dead-letters"><h2 id="dead-letters">Dead letters (\(letterCount))</h2>
            <p class="muted">Changes the sink rejected for good. Replaying puts them back at the end of the outbox.</p>
            """
        if letters.isEmpty {
            body += "<p class=\"muted\">None.</p>"
        } else {
            body +=
                "<p>" + button("Replay all \(letterCount)", action: "\(base)/dead-letters/replay", csrf: chrome.csrf)
                + "</p>"
                + "<table class=\"dead-letters\"><thead><tr><th scope=\"col\">Id</th><th scope=\"col\">Failed (UTC)</th><th scope=\"col\">Change</th><th scope=\"col\">User</th><th scope=\"col\">Reason</th><th scope=\"col\">Action</th></tr></thead><tbody>"
            for letter in letters {
                body +=
                    "<tr data-dead-letter=\"\(letter.id)\"><td>\(letter.id)</td><td>\(letter.failedAt.iso8601)</td>"
                    + "<td>\(escape(letter.operation.rawValue)) v\(letter.version)</td><td>\(escape(letter.userId))</td>"
                    + "<td>\(escape(letter.reason))</td><td>"
                    + button(
                        "Replay", action: "\(base)/dead-letters/replay", csrf: chrome.csrf, style: "secondary",
                        fields: [("id", "\(letter.id)")])
                    + "</td></tr>"
            }
            body += "</tbody></table>"
        }
        body += """
            </section>
            <section class="card" aria-labelledby="failed-events"><h2 id="failed-events">Failed events (\(eventCount))</h2>
            <p class="muted">Events that could not be applied after their retries. Retrying makes them pending again, with their attempts reset.</p>
            """
        if events.isEmpty {
            body += "<p class=\"muted\">None.</p>"
        } else {
            body +=
                "<p>" + button("Retry all \(eventCount)", action: "\(base)/failed-events/retry", csrf: chrome.csrf)
                + "</p>"
                + "<table class=\"failed-events\"><thead><tr><th scope=\"col\">Id</th><th scope=\"col\">Failed (UTC)</th><th scope=\"col\">Event</th><th scope=\"col\">User</th><th scope=\"col\">Attempts</th><th scope=\"col\">Last error</th><th scope=\"col\">Action</th></tr></thead><tbody>"
            for event in events {
                body +=
                    "<tr data-failed-event=\"\(event.seq)\"><td>\(event.seq)</td><td>\(event.failedAt.iso8601)</td>"
                    + "<td>\(escape(event.eventType))</td><td>\(escape(event.subjectUserId ?? "-"))</td>"
                    + "<td class=\"number\">\(event.attempts)</td><td>\(escape(event.lastError))</td><td>"
                    + button(
                        "Retry", action: "\(base)/failed-events/retry", csrf: chrome.csrf, style: "secondary",
                        fields: [("id", "\(event.seq)")])
                    + "</td></tr>"
            }
            body += "</tbody></table>"
        }
        return page(title: "Dead letters", chrome: chrome, body: body + "</section>")
    }

    // MARK: actions with inputs

    /// The actions that take an input: they live on a page that does not refresh.
    static func actions(
        connectorName: String, slug: String, hookPath: String, suggestedURL: String, chrome: ConsoleChrome
    )
        -> Response
    {
        let base = "/connectors/\(escape(slug))"
        let csrf = chrome.csrf.map(csrfField) ?? ""
        return page(
            title: "Actions", chrome: chrome,
            body: """
                <h1>Actions for \(escape(connectorName))</h1>
                <p><a href="\(base)">Back to \(escape(connectorName))</a></p>
                <section class="card" aria-labelledby="resync"><h2 id="resync">Resync one user</h2>
                <p class="muted">Reads the user, their apps and devices from Okta again and queues the result for the sink if it changed.</p>
                <form method="post" action="\(base)/resync">\(csrf)
                <p><label for="user_id">Okta user id</label><br><input type="text" id="user_id" name="user_id" required pattern="[0-9A-Za-z]{20}" placeholder="00u1abcdEFGHijklMNOP"></p>
                <p><button type="submit">Resync the user</button></p></form></section>
                <section class="card" aria-labelledby="register"><h2 id="register">Register the event hook again</h2>
                <p class="muted">Creates the hook in Okta (or replaces this connector's), then asks Okta to verify it: the URL must reach this process's listener over HTTPS, with the path <code>\(escape(hookPath))</code>. A working hook is removed only once the new one is verified.</p>
                <form method="post" action="\(base)/hook/register">\(csrf)
                <p><label for="url">Public URL of the hook</label><br><input type="url" id="url" name="url" required value="\(escape(suggestedURL))"></p>
                <p><button type="submit">Register and verify</button></p></form></section>
                """)
    }
}

extension String {
    /// `nil` when empty.
    var nonEmpty: String? { isEmpty ? nil : self }
}

extension HTTPField.Name {
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    /// Reloads the page after the given seconds (every current browser follows it).
    static let refresh = HTTPField.Name("Refresh")!
}
