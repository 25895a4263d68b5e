import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Foundation

/// The status page an operator keeps open (SPEC §11): server-rendered HTML, no external assets,
/// refreshed every 15 s. Per connector: events arriving, inbox and outbox, last and next run, drift
/// per run as a small chart, recent errors.
enum StatusPage {
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func age(_ date: Date?, now: Date) -> String {
        guard let date else { return "never" }
        let seconds = Int64(saturating: now.timeIntervalSince(date))
        if seconds < 60 { return "\(seconds) s ago" }
        if seconds < 3600 { return "\(seconds / 60) min ago" }
        if seconds < 86_400 { return "\(seconds / 3600) h ago" }
        return "\(seconds / 86_400) d ago"
    }

    /// A bar chart of drift per run, oldest to newest, as inline SVG.
    static func driftChart(_ runs: [RunRecord]) -> String {
        let finished = runs.filter { $0.outcome != .running && !$0.dryRun }.reversed()
        guard !finished.isEmpty else { return "<p class=\"muted\">No runs yet.</p>" }
        let maximum = max(1, finished.map(\.drift).max() ?? 1)
        let width = 18
        var bars = ""
        for (index, run) in finished.enumerated() {
            // Drift comes from stored rows: kept within the chart whatever its value.
            let height = max(2, Int(min(1, max(0, Double(run.drift) / Double(maximum))) * 60))
            let colour = run.outcome == .succeeded ? "#3b82f6" : (run.outcome == .held ? "#f59e0b" : "#ef4444")
            bars +=
                "<rect x=\"\(index * width)\" y=\"\(64 - height)\" width=\"\(width - 4)\" height=\"\(height)\" fill=\"\(colour)\">"
                + "<title>run \(run.id) \(run.outcome.rawValue): drift \(run.drift)</title></rect>"
        }
        return
            "<svg class=\"chart\" role=\"img\" aria-label=\"drift per run\" width=\"\(max(1, finished.count) * width)\" height=\"64\" "
            + "viewBox=\"0 0 \(max(1, finished.count) * width) 64\">\(bars)</svg>"
    }

    static func healthClass(_ health: ConnectorHealth?) -> String {
        guard let health else { return "off" }
        return health == .running ? "ok" : "warn"
    }

    static func html(_ report: StatusReport) -> String {
        let now = report.generatedAt
        var sections = ""
        for connector in report.connectors {
            let last = connector.runs.first { $0.outcome != .running }
            let running = connector.runs.first { $0.outcome == .running }
            let arriving = connector.lastDelivery.map { now.timeIntervalSince($0) < 3600 } ?? false
            let errors = connector.runs.prefix(5).flatMap { run in run.errors.map { "run \(run.id): \($0)" } }
            sections += """
                <section class="connector" data-connector="\(escape(connector.slug))">
                  <h2>\(escape(connector.name)) <span class="badge \(connector.active ? "ok" : "off")">\(connector.active ? "active" : "inactive")</span></h2>
                  <p class="muted">\(escape(connector.oktaURL)) · server \(escape(connector.server)) · \(escape(connector.statuses.joined(separator: ", ")))</p>
                  <dl>
                    <dt>Health</dt><dd class="health \(healthClass(connector.health))">\(escape(connector.health?.description ?? "unknown"))</dd>
                    <dt>Worker</dt><dd class="worker">\(escape(connector.workerHolder.map { "replica \($0)" } ?? "no replica holds the worker lease"))</dd>
                    <dt>Events</dt><dd class="events \(arriving ? "ok" : "warn")">\(arriving ? "arriving" : "none in the last hour") (last delivery \(age(connector.lastDelivery, now: now)), hook \(escape(connector.hookPath)))</dd>
                    <dt>Inbox</dt><dd class="inbox">\(connector.inboxDepth) waiting</dd>
                    <dt>Outbox</dt><dd class="outbox">\(connector.outboxDepth) queued\(connector.outboxOldest.map { ", oldest \(age($0.date, now: now))" } ?? "")</dd>
                    <dt>Dead letters</dt><dd class="dead-letters">\(connector.deadLetters)</dd>
                    <dt>Failed events</dt><dd class="failed-events">\(connector.failedEvents)</dd>
                    <dt>Last run</dt><dd class="last-run">\(last.map { "#\($0.id) \($0.outcome.rawValue) \(age($0.startedAt.date, now: now)): \($0.counts.listed) listed, \($0.counts.created + $0.counts.updated) changed, \($0.counts.removed) removed, drift \($0.drift)" } ?? "none yet")\(running.map { " · run #\($0.id) in progress" } ?? "")</dd>
                    <dt>Next run</dt><dd class="next-run">\(connector.nextDue?.iso8601 ?? "not scheduled") (\(escape(connector.schedule)))</dd>
                  </dl>
                  <h3>Drift per run</h3>
                  \(driftChart(connector.runs))
                  <h3>Recent errors</h3>
                  \(errors.isEmpty ? "<p class=\"muted errors\">None.</p>" : "<ul class=\"errors\">" + errors.map { "<li>\(escape($0))</li>" }.joined() + "</ul>")
                </section>
                """
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="15">
            <title>okta-connector status</title>
            <style>
            body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#111;background:#fafafa}
            h1{font-size:1.4rem}h2{font-size:1.15rem;margin:0 0 .2rem}h3{font-size:.95rem;margin:1rem 0 .3rem}
            .connector{background:#fff;border:1px solid #ddd;border-radius:8px;padding:1rem 1.25rem;margin:1rem 0;max-width:60rem}
            dl{display:grid;grid-template-columns:9rem 1fr;gap:.25rem .75rem;margin:.75rem 0}dt{color:#555}
            .muted{color:#666}.badge{font-size:.75rem;padding:.1rem .45rem;border-radius:999px}
            .ok{color:#166534}.badge.ok{background:#dcfce7}.off{color:#555}.badge.off{background:#eee}.warn{color:#92400e}
            .chart{background:#f3f4f6;border-radius:4px}
            </style></head>
            <body><h1>okta-connector</h1><p class="muted">Status at \(Timestamp(now).iso8601) · refreshes every 15 s</p>
            \(sections.isEmpty ? "<p>No connectors run by this process.</p>" : sections)
            </body></html>
            """
    }
}
