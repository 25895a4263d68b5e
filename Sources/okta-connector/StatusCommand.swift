import ArgumentParser
import ConnectorConfiguration
import ConnectorDomain
import ConnectorServer
import ConnectorStore
import Foundation

/// `okta-connector status`: each connector's state, read from the store.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract:
            "Show each connector's state: inbox and outbox, dead letters, last and next run, recent drift and errors.",
        discussion:
            "Reads the store, so it works whether or not `serve` is running (the admin API's /api/status adds live counts)."
    )

    @Option(help: "The configuration file (YAML).") var config: String

    func run() async throws {
        let configuration = try CommandSupport.loadConfiguration(config)
        let store = try CommandSupport.openStore(configuration)
        for settings in configuration.connectors {
            let status = try await StatusReport.connector(
                store: store, name: settings.name, slug: settings.slug, server: settings.server,
                active: settings.active,
                oktaURL: settings.okta.url.absoluteString, statuses: settings.userStatuses.map(\.rawValue),
                schedule: "\(settings.schedule)", hookPath: settings.eventHook.path, lastDelivery: nil)
            print("\(status.name) (\(status.slug))\(status.active ? "" : " — inactive")  \(status.oktaURL)")
            print(
                "  inbox: \(status.inboxDepth) waiting   outbox: \(status.outboxDepth) queued"
                    + (status.outboxOldest.map { ", oldest \($0.iso8601)" } ?? "")
                    + "   dead letters: \(status.deadLetters)   failed events: \(status.failedEvents)")
            if let last = status.runs.first(where: { $0.outcome != .running }) {
                print(
                    "  last run: #\(last.id) \(last.outcome.rawValue) at \(last.startedAt.iso8601): \(last.counts.listed) listed, "
                        + "\(last.counts.created) created, \(last.counts.updated) updated, \(last.counts.removed) removed, drift \(last.drift)"
                )
                for error in last.errors { print("    \(error)") }
            } else {
                print("  last run: none yet")
            }
            print("  next run: \(status.nextDue?.iso8601 ?? "not scheduled") (\(status.schedule))")
            let drift = status.runs.filter { $0.outcome != .running && !$0.dryRun }.prefix(10).reversed().map {
                String($0.drift)
            }
            if !drift.isEmpty { print("  drift of the last runs: \(drift.joined(separator: " "))") }
        }
    }
}
