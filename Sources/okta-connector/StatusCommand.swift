import ArgumentParser
import ConnectorConfiguration
import ConnectorDomain
import ConnectorServer
import ConnectorStore
import Foundation
import Logging

/// `okta-connector status`: each connector's state, read from the store.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract:
            "Show each connector's state: inbox and outbox, dead letters, last and next run, recent drift and errors.",
        discussion: """
            Reads the store, so it works whether or not `serve` is running, and needs no secret: the \
            Okta token and hook secrets may be unset. A running reconcile shows its live counts (the \
            running process stores them every 15 s); the admin API's /api/status adds each \
            connector's health.
            """
    )

    @Option(help: "The configuration file (YAML).") var config: String

    func run() async throws {
        let configuration = try CommandSupport.loadConfiguration(config, secrets: .unresolved)
        try await CommandSupport.withStore(
            configuration, logger: CommandSupport.logger(configuration.logging, level: .warning)
        ) { store in
            for settings in configuration.connectors { try await Self.report(settings, store: store) }
        }
    }

    /// One connector's lines.
    private static func report(_ settings: ConnectorSettings, store: any StateStore) async throws {
        let status = try await StatusReport.connector(
            store: store, name: settings.name, slug: settings.slug, server: settings.server,
            active: settings.active,
            oktaURL: settings.okta.url.absoluteString, statuses: settings.userStatuses.map(\.rawValue),
            schedule: "\(settings.schedule)", hookPath: settings.eventHook.path, lastDelivery: nil,
            eventSource: settings.eventSource.rawValue,
            dailyBudget: settings.eventSource.takesHooks ? settings.eventHook.dailyBudget : nil)
        print("\(status.name) (\(status.slug))\(status.active ? "" : " — inactive")  \(status.oktaURL)")
        print("  worker: " + (status.workerHolder.map { "replica \($0)" } ?? "no replica runs it now"))
        // SPEC §19: a token unused for 30 days expires; which credential Okta refuses, and why.
        print(
            "  Okta: last accepted call " + (status.oktaContact?.lastAcceptedAt?.iso8601 ?? "never")
                + (status.oktaContact?.rejection.map { "   REFUSED \($0.at.iso8601): \($0.reason)" } ?? ""))
        if let clock = status.oktaClock?.summary { print("  \(clock)") }
        if let warning = status.oktaContact?.hookWarning { print("  WARNING: \(warning)") }
        print(
            "  inbox: \(status.inboxDepth) waiting   outbox: \(status.outboxDepth) queued"
                + (status.outboxOldest.map { ", oldest \($0.iso8601)" } ?? "")
                + "   dead letters: \(status.deadLetters)   failed events: \(status.failedEvents)")
        let now = Date()
        if let running = status.runs.first(where: { $0.outcome == .running }) {
            // Live counts: the running process stores them at a steady cadence.
            let process =
                running.owner.flatMap(ProcessIdentity.init(description:)).map {
                    " in process \($0.pid) on host \($0.host)"
                } ?? ""
            print(
                "  run in progress: #\(running.id) \(running.trigger.rawValue)\(running.dryRun ? " (dry run)" : "")"
                    + " since \(running.startedAt.iso8601)\(process): \(running.counts.listed) listed, "
                    + "\(running.oktaCalls.values.reduce(0, +)) Okta calls so far")
        }
        if let last = status.runs.first(where: { $0.outcome != .running }) {
            print(
                "  last run: #\(last.id) \(last.outcome.rawValue)\(last.dryRun ? " (dry run: nothing written)" : "")"
                    + " at \(last.startedAt.iso8601): \(last.counts.listed) listed, "
                    + "\(last.counts.created) created, \(last.counts.updated) updated, "
                    + "\(last.counts.unchanged) unchanged, \(last.counts.removed) removed, drift \(last.drift)"
            )
            for error in last.errors { print("    \(error)") }
        } else {
            print("  last run: none yet")
        }
        print("  next run: \(Self.nextRun(status, active: settings.active, now: now)) (\(status.schedule))")
        let drift = status.runs.filter { $0.outcome != .running && !$0.dryRun }.prefix(10).reversed().map {
            String($0.drift)
        }
        if !drift.isEmpty {
            print(
                "  drift (changes the events missed) of the last runs, oldest first, newest last: \(drift.joined(separator: " "))"
            )
        }
        if settings.eventSource.takesHooks {
            print("  events: \(Self.events(status.lastDelivery, now: now)) (hook \(status.hookPath))")
            if let budget = status.hookEvents {
                print("  hook events (\(settings.eventHook.eventTypes.rawValue)): \(budget.summary)")
            }
        }
        if settings.eventSource.polls {
            print("  System Log polling: " + Self.polling(status.systemLog, clock: status.oktaClock, now: now))
        }
    }

    /// The System Log polling line: lag, last poll and its outcome, events only polling found.
    static func polling(_ cursor: SystemLogCursor?, clock: OktaClockOffset?, now: Date) -> String {
        guard let cursor, let lastPoll = cursor.lastPollAt else { return "not polled yet" }
        var parts = ["last poll \(lastPoll.iso8601): \(cursor.lastOutcome ?? "?")"]
        if let newest = cursor.newestPublished {
            parts.append(
                "lag \(Int(clock.age(of: newest, now: now).rounded())) s (newest event \(newest.iso8601))")
        }
        parts.append(
            "\(cursor.polledEvents) events found by polling, \(cursor.missedDeliveries) of them missed by hooks")
        return parts.joined(separator: ", ")
    }

    /// The next run, never a time already past: `due now`, the due time, or why there is none.
    static func nextRun(_ status: StatusReport.Connector, active: Bool, now: Date) -> String {
        guard active else { return "none (the connector is inactive)" }
        guard let due = status.nextDue else { return "not scheduled yet (serve has not run)" }
        if due.date <= now { return "due now" }
        return due.iso8601
    }

    /// Whether events arrive: the newest delivery stored for the connector.
    static func events(_ last: Date?, now: Date) -> String {
        guard let last else { return "no delivery received recently" }
        let age = Int(now.timeIntervalSince(last))
        let ago =
            age < 120
            ? "\(age) s ago"
            : age < 7200 ? "\(age / 60) min ago" : age < 172_800 ? "\(age / 3600) h ago" : "\(age / 86400) days ago"
        return "\(age < 3600 ? "arriving" : "none in the last hour"), last delivery \(Timestamp(last).iso8601) (\(ago))"
    }
}
