import ArgumentParser
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Foundation

/// `okta-connector runs`: the reconcile history of a connector.
struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "Show a connector's reconcile runs, or one run in detail.",
        subcommands: [List.self, Show.self],
        defaultSubcommand: List.self
    )
}

extension RunsCommand {
    /// `okta-connector runs [list]`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "Show a connector's reconcile runs, newest first (the default).",
            discussion: """
                Each run: id, trigger, start, duration, outcome, counts, drift, Okta calls, 429s, errors, and \
                the process that ran it; a `reconcile` whose changes did not reach the sink says "not \
                forwarded". A running run shows live counts. Needs no secret.
                """
        )

        @Option(help: "The configuration file (YAML).") var config: String
        @Option(help: "The connector's name (or URL name).") var connector: String
        @Option(help: "How many runs to show.") var limit = 20

        func validate() throws {
            guard limit > 0 else { throw ValidationError("--limit must be at least 1 (got \(limit))") }
        }

        func run() async throws {
            try await CommandSupport.readStore(config: config, connector: connector) { settings, store in
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
                                format: "%.1f",
                                Double($0.millisecondsSinceEpoch - run.startedAt.millisecondsSinceEpoch) / 1000)
                        } ?? "-"
                    let columns: [(String, Int)] = [
                        (String(run.id), 5), (run.trigger.rawValue + (run.dryRun ? "*" : ""), 13),
                        (run.startedAt.iso8601, 26),
                        (seconds, 8), (run.outcome.rawValue, 10), (String(run.counts.listed), 7),
                        (String(run.counts.created), 8),
                        (String(run.counts.updated), 8), (String(run.counts.unchanged), 10),
                        (String(run.counts.removed), 8),
                        (String(run.drift), 6),
                        (String(run.oktaCalls.values.reduce(0, +)), 6), (String(run.rateLimited), 5),
                    ]
                    print(
                        columns.map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }.joined(separator: " ")
                    )
                    if let owner = run.owner.flatMap(ProcessIdentity.init(description:)) {
                        print("      process \(owner.pid) on host \(owner.host)")
                    }
                    if run.forwarded == false {
                        print("      not forwarded: the sink did not take the changes; they stay queued")
                    }
                    for error in run.errors { print("      \(error)") }
                }
                if runs.contains(where: \.dryRun) { print("* dry run") }
            }
        }
    }
}

extension RunsCommand {
    /// `okta-connector runs show ID`.
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show one run: counts, Okta calls, errors; for a held run, the users it would remove.",
            discussion: """
                A run held by the circuit breaker lists the present users it did not see (read from the \
                marks it left; a later run replaces them). Confirm with `okta-connector reconcile \
                --confirm-removals` or the console. Needs no secret.
                """
        )

        @Option(help: "The configuration file (YAML).") var config: String
        @Option(help: "The connector's name (or URL name).") var connector: String
        @Argument(help: "The run's id (the first column of `runs`).") var id: Int64

        func run() async throws {
            try await CommandSupport.readStore(config: config, connector: connector) { settings, store in
                guard let run = try await store.run(id: id), run.connector == settings.slug else {
                    CommandSupport.printError("\"\(settings.name)\" has no run \(id) (see `okta-connector runs`)")
                    throw ExitCode(2)
                }
                let seconds =
                    run.endedAt.map {
                        String(
                            format: "%.1f s",
                            Double($0.millisecondsSinceEpoch - run.startedAt.millisecondsSinceEpoch) / 1000)
                    } ?? "running"
                print("Run \(run.id) of \"\(settings.name)\": \(run.outcome.rawValue)\(run.dryRun ? " (dry run)" : "")")
                print("  trigger:     \(run.trigger.rawValue)")
                print("  started:     \(run.startedAt.iso8601) (\(seconds))")
                print(
                    "  counts:      \(run.counts.listed) listed, \(run.counts.created) created, \(run.counts.updated) updated, "
                        + "\(run.counts.unchanged) unchanged, \(run.counts.removed) removed; drift \(run.drift)"
                        + (run.lastLogonUpdates > 0
                            ? "; \(run.lastLogonUpdates) updated in User.LastLogon alone (not drift)" : ""))
                let calls = run.oktaCalls.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                print(
                    "  okta calls:  \(calls.isEmpty ? "none" : calls.joined(separator: ", ")); \(run.rateLimited) answered 429"
                )
                if let owner = run.owner { print("  process:     \(owner)") }
                if let forwarded = run.forwarded {
                    // Recorded by the `reconcile` command, which forwards its run's changes itself.
                    print(
                        "  forwarded:   "
                            + (forwarded ? "yes" : "no: the sink did not take the changes; they stay queued"))
                }
                if run.errors.isEmpty {
                    print("  errors:      none")
                } else {
                    print("  errors:")
                    for error in run.errors { print("    \(HooksCommand.Terminal.clean(error))") }
                }
                guard run.outcome == .held else { return }
                switch try await HeldRunRemovals.of(run, store: store) {
                case .unavailable(let why):
                    print("  would remove: not known: \(why)")
                case .users(let users, let total):
                    print("  would remove \(total) user\(total == 1 ? "" : "s"):")
                    for user in users {
                        let login = user.snapshot.user.profile["login"]?.stringValue ?? ""
                        print("    \(user.userId)  \(HooksCommand.Terminal.clean(login))  \(user.status)")
                    }
                    if total > users.count { print("    … and \(total - users.count) more") }
                    print(
                        "  To apply: okta-connector reconcile --config \(config) --connector \"\(settings.name)\" --confirm-removals"
                    )
                }
            }
        }
    }
}
