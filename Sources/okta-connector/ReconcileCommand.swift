import ArgumentParser
import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Foundation
import Logging
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
            also works from cron without `serve`: a sink that does not take them is asked again with \
            backoff (honouring a valid Retry-After) for up to the connector's sink.forward_timeout \
            (default 5m) or --forward-timeout; then the command exits 1 with the changes kept, and \
            the run records whether its changes were forwarded (`okta-connector runs show`).
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
    @Option(
        help: ArgumentHelp(
            "How long to keep retrying a sink that does not take the run's changes, e.g. 30s or 10m (0: no retry).",
            discussion: "Default: the connector's sink.forward_timeout (5m unless configured).",
            valueName: "duration")
    ) var forwardTimeout: String?

    func validate() throws {
        if let forwardTimeout, parseDuration(forwardTimeout).map({ $0 < 0 || $0 > 366 * 86_400 }) ?? true {
            throw ValidationError(
                "--forward-timeout: expected a duration like 30s, 5m or 1h (at most 366d), not \"\(forwardTimeout)\"")
        }
    }

    /// The exit status when another process runs a reconcile of the connector.
    static let busyExitStatus: Int32 = 4

    func run() async throws {
        let configuration = try CommandSupport.loadConfiguration(config)
        let settings = try CommandSupport.connector(connector, in: configuration)
        let progress = ReconcileProgressPrinter(terminal: CommandSupport.isTerminal)
        // Log lines (in logging.format) never glue onto the progress line.
        let logger = CommandSupport.logger(
            configuration.logging, level: verbose ? .debug : .warning, progress: progress)
        try await CommandSupport.withStore(configuration, logger: logger) { store in
            try await OutgoingHTTPClient.using { httpClient in
                let assembled: AssembledConnector
                do {
                    assembled = try ConnectorAssembly.assemble(
                        settings,
                        in: ConnectorEnvironment(
                            store: store, httpClient: httpClient, gate: RunGate(leases: store, logger: logger),
                            fileAccess: configuration.store.fileAccess, clock: SystemWallClock(), logger: logger,
                            progress: { progress.update($0) }))
                } catch {
                    CommandSupport.printError("the connector's sink cannot be opened: \(error)")
                    throw ExitCode(1)
                }
                do {
                    try await reconcileAndForward(assembled.runtime.operations, progress: progress, logger: logger)
                } catch {
                    await assembled.release()
                    throw error
                }
                await assembled.release()
            }
        }
    }

    /// The run, then the forwarding of what it queued; throws the exit status.
    private func reconcileAndForward(
        _ operations: ConnectorOperations, progress: ReconcileProgressPrinter, logger: Logger
    ) async throws {
        // A wait is shown as it starts, and counts down every second while it lasts.
        operations.observeRateLimitWaits { progress.waiting($0) }
        let ticking = Task { await progress.run() }
        defer { ticking.cancel() }
        // Ctrl-C or SIGTERM cancels the run (the reconciler records it as interrupted and removes
        // nothing) and the forwarding after it; the command then exits 128 + the signal's number.
        // Trapped before the first line is printed: a signal right after it is the command's to handle.
        let stop = await StopSignals(logger: logger)
        // Written at once (not buffered), so a cron log or a pipe shows it even if the run is interrupted.
        let settings = operations.settings
        FileHandle.standardOutput.write(
            Data(
                "Reconciling \"\(settings.name)\" from \(settings.okta.url.absoluteString)\(dryRun ? " (dry run)" : "")\n"
                    .utf8))
        let report = try await reconcile(operations, stop: stop, progress: progress)
        // At once too: the forwarding after it may retry for minutes (sink.forward_timeout).
        say(RunSummary.text(report.record))
        if let snapshot = report.snapshot { say("  CSV snapshot: \(snapshot)") }
        // Then forward what is queued, so that the command works from cron without `serve`.
        if !dryRun { try await forward(operations, run: report.record.id, stop: stop) }
        switch report.record.outcome {
        case .succeeded: return
        case .held: throw ExitCode(3)
        default: throw ExitCode(1)
        }
    }

    /// The run itself under the connector's gate; throws the exit status when it did not finish.
    private func reconcile(
        _ operations: ConnectorOperations, stop: StopSignals, progress: ReconcileProgressPrinter
    ) async throws -> ReconcileReport {
        let connector = operations.settings.slug
        let options = ReconcileOptions(
            trigger: .manual, dryRun: dryRun, confirmRemovals: confirmRemovals, compareEveryUser: compareEveryUser)
        do {
            let admitted = try await stop.untilStopped { try await operations.reconcile(options) }
            if case .busy(let holder) = admitted {
                CommandSupport.printError(holder.message(connector: connector))
                throw ExitCode(Self.busyExitStatus)
            }
            progress.finish()
            guard case .ran(let report) = admitted else {
                try await interrupted(by: stop, store: operations.store, connector: connector)
            }
            return report
        } catch let exit as ExitCode {
            throw exit
        } catch {
            progress.finish()
            if stop.signal != nil { try await interrupted(by: stop, store: operations.store, connector: connector) }
            CommandSupport.printError("the run could not be recorded: \(error)")
            throw ExitCode(1)
        }
    }

    /// Sends what the outbox holds to the sink, retrying a sink that is briefly down; throws the
    /// exit status when it could not.
    private func forward(_ operations: ConnectorOperations, run: Int64, stop: StopSignals) async throws {
        let settings = operations.settings
        let timeout = forwardTimeout.flatMap(parseDuration) ?? settings.forwardTimeout
        do {
            guard
                let sent = try await stop.untilStopped({
                    try await operations.forwardQueued(after: run, retryingFor: timeout)
                })
            else {
                try await interrupted(
                    by: stop, store: operations.store, connector: settings.slug, whileForwarding: true)
            }
            say("  forwarded \(sent.records) records (\(sent.entries) outbox entries) to \(settings.sink.summary)")
        } catch let exit as ExitCode {
            throw exit
        } catch {
            if stop.signal != nil {
                try await interrupted(
                    by: stop, store: operations.store, connector: settings.slug, whileForwarding: true)
            }
            CommandSupport.printError(
                "forwarding to the sink failed: \(error); the changes stay queued (run \(run) recorded as not forwarded)"
            )
            throw ExitCode(1)
        }
    }

    /// Writes a line to standard output at once (not buffered), so a cron log or a pipe has it even
    /// if the command is killed later.
    private func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Reports a run stopped by a signal and exits 128 + the signal's number.
    private func interrupted(
        by stop: StopSignals, store: any StateStore, connector: String, whileForwarding: Bool = false
    ) async throws -> Never {
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
