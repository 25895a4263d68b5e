import ArgumentParser
import ConnectorConfiguration
import ConnectorDomain
import ConnectorStore
import Foundation

/// `okta-connector runs`: the reconcile history of a connector.
struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "Show a connector's reconcile runs, newest first.",
        discussion: """
            Each run: id, trigger, start, duration, outcome, counts, drift, Okta calls, 429s, errors, and \
            the process that ran it. A running run shows live counts. Needs no secret.
            """
    )

    @Option(help: "The configuration file (YAML).") var config: String
    @Option(help: "The connector's name (or URL name).") var connector: String
    @Option(help: "How many runs to show.") var limit = 20

    func run() async throws {
        let (settings, store) = try await CommandSupport.readStore(config: config, connector: connector)
        let runs = try await store.runs(connector: settings.slug, limit: limit)
        guard !runs.isEmpty else {
            print("No runs of \"\(settings.name)\" yet.")
            return
        }
        print(
            "id    trigger       started (UTC)              seconds  outcome    listed  created  updated  unchanged  removed  drift  calls  429s"
        )
        for run in runs {
            let seconds =
                run.endedAt.map {
                    String(
                        format: "%.1f", Double($0.millisecondsSinceEpoch - run.startedAt.millisecondsSinceEpoch) / 1000)
                } ?? "-"
            let columns: [(String, Int)] = [
                (String(run.id), 5), (run.trigger.rawValue + (run.dryRun ? "*" : ""), 13), (run.startedAt.iso8601, 26),
                (seconds, 8), (run.outcome.rawValue, 10), (String(run.counts.listed), 7),
                (String(run.counts.created), 8),
                (String(run.counts.updated), 8), (String(run.counts.unchanged), 10), (String(run.counts.removed), 8),
                (String(run.drift), 6),
                (String(run.oktaCalls.values.reduce(0, +)), 6), (String(run.rateLimited), 5),
            ]
            print(columns.map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }.joined(separator: " "))
            if let owner = run.owner.flatMap(ProcessIdentity.init(description:)) {
                print("      process \(owner.pid) on host \(owner.host)")
            }
            for error in run.errors { print("      \(error)") }
        }
        if runs.contains(where: \.dryRun) { print("* dry run") }
    }
}
