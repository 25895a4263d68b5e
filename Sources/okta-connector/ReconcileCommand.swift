import ArgumentParser
import AsyncHTTPClient
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Foundation
import Logging
import OktaClient
import Synchronization
import UnixSignals

/// `okta-connector reconcile`: one full reconcile of a connector, then exit.
struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Run one full reconcile of a connector against Okta and exit.",
        discussion: """
            Lists every user with a selected status from the Okta Management API, enriches them with \
            assigned apps and devices, writes the changed records and queues them for the sink, and \
            removes users the listing no longer contains. A run that would remove more than \
            reconcile.max_removal_share of the users is held: nothing is removed until you run again \
            with --confirm-removals. Exit status: 0 succeeded, 1 failed, 3 held, 2 bad configuration. \
            After the run, the queued changes are forwarded to the connector's sink, so the command \
            also works from cron without `serve`; a failed forward exits 1 with the changes kept.
            """
    )

    @Option(help: "The configuration file (YAML).") var config: String
    @Option(help: "The connector's name (or URL name).") var connector: String
    @Flag(help: "Report what would change without writing anything.") var dryRun = false
    @Flag(help: "Apply removals that the circuit breaker would hold.") var confirmRemovals = false
    @Flag(help: "Log Okta calls and waits in detail.") var verbose = false

    func run() async throws {
        let configuration = try CommandSupport.loadConfiguration(config)
        let settings = try CommandSupport.connector(connector, in: configuration)
        let store = try CommandSupport.openStore(configuration)
        let httpClient = CommandSupport.makeHTTPClient()
        let logger = CommandSupport.logger(level: verbose ? .debug : .warning)
        let clock = SystemWallClock()
        let client = OktaAPIClient.make(for: settings, httpClient: httpClient, clock: clock, logger: logger)
        let progress = ProgressPrinter(terminal: CommandSupport.isTerminal)
        let reconciler = Reconciler(
            connector: settings, client: client, store: store, clock: clock, logger: logger,
            progress: { progress.update($0) })
        // Written at once (not buffered), so a cron log or a pipe shows it even if the run is interrupted.
        FileHandle.standardOutput.write(
            Data(
                "Reconciling \"\(settings.name)\" from \(settings.okta.url.absoluteString)\(dryRun ? " (dry run)" : "")\n"
                    .utf8))
        // Ctrl-C or SIGTERM cancels the run (the reconciler records it as interrupted and removes
        // nothing) and the forwarding after it; the command then exits 128 + the signal's number.
        let stop = await StopSignals(logger: logger)
        let options = ReconcileOptions(trigger: .manual, dryRun: dryRun, confirmRemovals: confirmRemovals)
        let record: RunRecord
        do {
            guard let finished = try await stop.untilStopped({ try await reconciler.run(options) }) else {
                progress.finish()
                try await interrupted(by: stop, store: store, connector: settings.slug, httpClient: httpClient)
            }
            record = finished
        } catch {
            progress.finish()
            if stop.signal != nil {
                try await interrupted(by: stop, store: store, connector: settings.slug, httpClient: httpClient)
            }
            try? await httpClient.shutdown()
            CommandSupport.printError("the run could not be recorded: \(error)")
            throw ExitCode(1)
        }
        progress.finish()
        print(RunSummary.text(record))
        // Then forward what is queued, so that the command works from cron without `serve`.
        if !dryRun {
            var sink: ConnectorSink?
            do {
                let made = try RecordSinkFactory.make(
                    for: settings, store: store, httpClient: httpClient, clock: clock, logger: logger)
                sink = made
                let forwarder = OutboxForwarder(
                    connector: settings.slug, store: store, sink: made.sink, clock: clock, logger: logger,
                    batchSize: settings.sink.batchSize)
                guard let sent = try await stop.untilStopped({ try await forwarder.drain() }) else {
                    await made.shutdown()
                    try await interrupted(
                        by: stop, store: store, connector: settings.slug, httpClient: httpClient)
                }
                print("  forwarded \(forwarder.forwarded) records (\(sent) outbox entries) to \(settings.sink.summary)")
                if let snapshots = made.snapshots, record.outcome == .succeeded {
                    print("  CSV snapshot: \(try await snapshots.writeNow())")
                }
                await made.shutdown()
            } catch {
                await sink?.shutdown()
                if stop.signal != nil {
                    try await interrupted(
                        by: stop, store: store, connector: settings.slug, httpClient: httpClient)
                }
                try? await httpClient.shutdown()
                CommandSupport.printError("forwarding to the sink failed: \(error); the changes stay queued")
                throw ExitCode(1)
            }
        }
        try? await httpClient.shutdown()
        switch record.outcome {
        case .succeeded: return
        case .held: throw ExitCode(3)
        default: throw ExitCode(1)
        }
    }

    /// Reports a run stopped by a signal and exits 128 + the signal's number.
    private func interrupted(
        by stop: StopSignals, store: any StateStore, connector: String, httpClient: HTTPClient
    ) async throws -> Never {
        try? await httpClient.shutdown()
        let signal = stop.signal ?? .sigint
        let last = try? await store.runs(connector: connector, limit: 1).first
        var message = "stopped by \(signal): the reconcile was cancelled"
        if let last {
            message += "; run \(last.id) recorded \(last.outcome.rawValue)"
        }
        message += ". Nothing was removed; queued changes stay in the outbox for the next run or `serve`."
        CommandSupport.printError(message)
        throw ExitCode(StopSignals.exitStatus(for: signal))
    }
}

/// Progress on a terminal (one redrawn line) or as plain lines every few seconds.
final class ProgressPrinter: Sendable {
    let terminal: Bool
    private let last = Mutex<(Date, Bool)>((.distantPast, false))

    init(terminal: Bool) { self.terminal = terminal }

    func update(_ progress: ReconcileProgress) {
        let now = Date()
        let due = last.withLock { state -> Bool in
            let interval: TimeInterval = terminal ? 0.2 : 5
            guard now.timeIntervalSince(state.0) >= interval else { return false }
            state = (now, true)
            return true
        }
        guard due else { return }
        var line = "\(progress.phase): \(progress.listed) users listed, \(progress.calls) Okta calls"
        if progress.rateLimitWaits > 0 { line += ", \(progress.rateLimitWaits) rate-limit waits" }
        if let expected = progress.expectedUsers, expected > 0, progress.listed > 0, progress.phase == "listing users" {
            let remaining = progress.elapsed / Double(progress.listed) * Double(max(0, expected - progress.listed))
            line += ", ETA \(Int(remaining.rounded()))s"
        }
        if terminal {
            FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + line).utf8))
        } else {
            print(line)
        }
    }

    func finish() {
        if terminal, last.withLock({ $0.1 }) { FileHandle.standardOutput.write(Data("\n".utf8)) }
    }
}

/// The text of a run for operators.
enum RunSummary {
    static func text(_ run: RunRecord) -> String {
        let duration =
            run.endedAt.map { Double($0.millisecondsSinceEpoch - run.startedAt.millisecondsSinceEpoch) / 1000 } ?? 0
        var lines = [
            "Run \(run.id) \(run.outcome.rawValue)\(run.dryRun ? " (dry run: nothing written)" : "") in \(String(format: "%.1f", duration)) s",
            "  listed \(run.counts.listed), created \(run.counts.created), updated \(run.counts.updated), "
                + "unchanged \(run.counts.unchanged), removed \(run.counts.removed), drift \(run.drift)",
            "  Okta calls: \(run.oktaCalls.values.reduce(0, +))"
                + (run.oktaCalls.isEmpty
                    ? ""
                    : " ("
                        + run.oktaCalls.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(
                            separator: ", ") + ")")
                + (run.rateLimited > 0 ? ", \(run.rateLimited) answered 429" : ""),
        ]
        for error in run.errors { lines.append("  \(error)") }
        return lines.joined(separator: "\n")
    }
}
