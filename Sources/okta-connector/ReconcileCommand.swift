import ArgumentParser
import AsyncHTTPClient
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Foundation
import Logging
import OktaClient
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
            with --confirm-removals. One reconcile of a connector runs at a time across every process \
            sharing the store: while `serve` or another command runs one, this command names that \
            process and exits 4 without starting. Exit status: 0 succeeded, 1 failed, 2 bad \
            configuration, 3 held, 4 another reconcile of the connector is running. \
            After the run, the queued changes are forwarded to the connector's sink, so the command \
            also works from cron without `serve`; a failed forward exits 1 with the changes kept.
            """
    )

    @Option(help: "The configuration file (YAML).") var config: String
    @Option(help: "The connector's name (or URL name).") var connector: String
    @Flag(help: "Report what would change without writing anything.") var dryRun = false
    @Flag(help: "Apply removals that the circuit breaker would hold.") var confirmRemovals = false
    @Flag(
        help:
            "Decode, map and compare every listed user, even those listed byte-identical to their stored read (slower; for checking the fast path)."
    ) var compareEveryUser = false
    @Flag(help: "Log each Okta call and each rate-limit wait as it happens.") var verbose = false

    /// The exit status when another process runs a reconcile of the connector.
    static let busyExitStatus: Int32 = 4

    func run() async throws {
        let configuration = try CommandSupport.loadConfiguration(config)
        let settings = try CommandSupport.connector(connector, in: configuration)
        let store = try await CommandSupport.openStore(configuration)
        let httpClient = CommandSupport.makeHTTPClient()
        let progress = ReconcileProgressPrinter(terminal: CommandSupport.isTerminal)
        // Log lines (in logging.format) never glue onto the progress line.
        let logger = CommandSupport.logger(
            configuration.logging, level: verbose ? .debug : .warning, progress: progress)
        let clock = SystemWallClock()
        let client = OktaAPIClient.make(for: settings, httpClient: httpClient, clock: clock, logger: logger)
        // A wait is shown as it starts, and counts down every second while it lasts.
        client.limiter.observeWaits { progress.waiting($0) }
        let ticking = Task { await progress.run() }
        defer { ticking.cancel() }
        let reconciler = Reconciler(
            connector: settings, client: client, store: store, clock: clock, logger: logger,
            progress: { progress.update($0) })
        let gate = RunGate(leases: store, logger: logger)
        // Written at once (not buffered), so a cron log or a pipe shows it even if the run is interrupted.
        FileHandle.standardOutput.write(
            Data(
                "Reconciling \"\(settings.name)\" from \(settings.okta.url.absoluteString)\(dryRun ? " (dry run)" : "")\n"
                    .utf8))
        // Ctrl-C or SIGTERM cancels the run (the reconciler records it as interrupted and removes
        // nothing) and the forwarding after it; the command then exits 128 + the signal's number.
        let stop = await StopSignals(logger: logger)
        let options = ReconcileOptions(
            trigger: .manual, dryRun: dryRun, confirmRemovals: confirmRemovals, compareEveryUser: compareEveryUser)
        let record: RunRecord
        do {
            let admitted = try await stop.untilStopped {
                try await gate.admit(settings.slug) { try await reconciler.run(options) }
            }
            if case .busy(let holder) = admitted {
                try? await httpClient.shutdown()
                CommandSupport.printError(holder.message(connector: settings.slug))
                throw ExitCode(Self.busyExitStatus)
            }
            guard case .ran(let finished) = admitted else {
                progress.finish()
                try await interrupted(by: stop, store: store, connector: settings.slug, httpClient: httpClient)
            }
            record = finished
        } catch let exit as ExitCode {
            throw exit
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
                    for: settings, store: store, httpClient: httpClient,
                    fileAccess: configuration.store.fileAccess, clock: clock, logger: logger)
                sink = made
                let forwarder = OutboxForwarder(
                    connector: settings.slug, store: store, sink: made.sink, clock: clock, logger: logger,
                    batchSize: settings.sink.batchSize)
                guard let sent = try await stop.untilStopped({ try await forwarder.drain() }) else {
                    await made.shutdown()
                    try await interrupted(
                        by: stop, store: store, connector: settings.slug, httpClient: httpClient, whileForwarding: true)
                }
                print("  forwarded \(forwarder.forwarded) records (\(sent) outbox entries) to \(settings.sink.summary)")
                if let snapshots = made.snapshots, record.outcome == .succeeded {
                    print("  CSV snapshot: \(try await snapshots.writeNow())")
                }
                await made.shutdown()
            } catch let exit as ExitCode {
                throw exit
            } catch {
                await sink?.shutdown()
                if stop.signal != nil {
                    try await interrupted(
                        by: stop, store: store, connector: settings.slug, httpClient: httpClient, whileForwarding: true)
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
        by stop: StopSignals, store: any StateStore, connector: String, httpClient: HTTPClient,
        whileForwarding: Bool = false
    ) async throws -> Never {
        try? await httpClient.shutdown()
        let signal = stop.signal ?? .sigint
        let last = try? await store.runs(connector: connector, limit: 1).first
        var message =
            whileForwarding
            ? "stopped by \(signal) while forwarding to the sink"
            : "stopped by \(signal): the reconcile was cancelled"
        if let last {
            message += "; run \(last.id) recorded \(last.outcome.rawValue)"
        }
        message += ". Nothing was removed; queued changes stay in the outbox for the next run or `serve`."
        CommandSupport.printError(message)
        throw ExitCode(StopSignals.exitStatus(for: signal))
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
