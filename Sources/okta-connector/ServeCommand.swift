import ArgumentParser
import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorServer
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// `okta-connector serve`: the main job.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract:
            "Run the connector: the HTTPS event hook listener, event appliers, scheduled reconciles and forwarders.",
        discussion: """
            Runs every connector whose server name matches server.connector_server: event hook \
            deliveries are stored durably and applied to user state in real time, the full reconcile \
            runs on each connector's schedule (at once when none has succeeded yet, once to catch up \
            after a missed run), and the outbox forwarder sends every change to the sink. With \
            server.admin set, the admin listener serves /healthz, /readyz, /metrics (Prometheus), the \
            admin API (/api/status, manual reconciles, resyncs, runs, reload) and the status page at /. \
            SIGHUP (or POST /api/reload) reloads the configuration file; a file with errors is \
            reported and the running one kept. SIGTERM or SIGINT stops it gracefully within \
            server.shutdown_timeout (default 20 s): in-flight requests are answered and transactions \
            committed; work still running after half the bound (a reconcile, a sink retry) is \
            cancelled. Exit status 0.
            """
    )

    @Option(help: "The configuration file (YAML).") var config: String

    func run() async throws {
        let configuration = try CommandSupport.loadConfiguration(config)
        // A taken port fails here, before any connector starts or logs that it runs.
        do {
            try ListenerPreflight.check(configuration.server)
        } catch {
            CommandSupport.printError("\(error)")
            throw ExitCode(1)
        }
        // Files this process creates are private whatever creates them (SQLite's side files, sinks'
        // temporary files): the owner, and the configured group for reading.
        umask(configuration.store.fileAccess.groupID == nil ? 0o077 : 0o027)
        // Every line, the libraries' included (PostgresNIO's), in the configured format from here on.
        StructuredLogHandler.bootstrap(configuration.logging)
        let logger = Logger(label: "okta-connector")
        for folder in configuration.worldReadablePersonalDataFolders {
            logger.warning(
                "a folder holding personal data is readable by every user of this machine; make it 0700 (or 0750 with store.file_group)",
                metadata: ["folder": "\(folder)"])
        }
        for listener in configuration.server.plainListenersOffLoopback {
            logger.warning(
                "\(listener) serves plain HTTP to the network (insecure_plain_http: true): secrets cross it in clear; use TLS outside tests"
            )
        }
        let readyLogger = logger
        let listen = configuration.server.listen
        let path = config
        let holder = ApplicationHolder()
        let reload: @Sendable () async throws -> String = {
            let configuration = try ConfigurationLoader.load(path: path)
            guard let application = holder.application else { return "not started yet" }
            try await application.reload(configuration)
            return "reloaded \(configuration.connectorsForThisServer.count) connector(s) from \(path)"
        }
        let application: ConnectorApplication
        do {
            application = try await ConnectorApplication.build(
                configuration: configuration, logger: logger,
                onServerRunning: { port in
                    readyLogger.notice(
                        "event hook listener ready",
                        metadata: [
                            "address": "\(listen.host):\(port)", "tls": "\(configuration.server.tls != nil)",
                            "connectors": "\(configuration.connectorsForThisServer.map(\.slug).joined(separator: ","))",
                        ])
                },
                onAdminRunning: { port in
                    readyLogger.notice("admin listener ready", metadata: ["port": "\(port)"])
                }, reload: reload)
        } catch {
            // The store cannot be opened, or a listener's TLS files cannot be read: said, exit 1.
            CommandSupport.printError("\(error)")
            throw ExitCode(1)
        }
        holder.application = application
        // SIGHUP reloads the configuration; a file with errors is reported and the running one kept.
        let hangups = Task {
            for await _ in await UnixSignalsSequence(trapping: .sighup) {
                do {
                    let outcome = try await reload()
                    readyLogger.notice("SIGHUP: \(outcome)")
                } catch {
                    readyLogger.error("configuration not reloaded", metadata: ["error": "\(error)"])
                }
            }
        }
        defer { hangups.cancel() }
        try await Self.runUntilStopped(
            application, shutdownTimeout: configuration.server.shutdownTimeout, logger: logger)
    }

    /// Runs the application's services until a signal or a failure stops them; throws exit 1 for a
    /// failure nobody asked for.
    /// SIGTERM/SIGINT: a graceful stop bounded by server.shutdown_timeout; the group escalates to
    /// cancellation after half of it.
    static func runUntilStopped(
        _ application: ConnectorApplication, shutdownTimeout: TimeInterval, logger: Logger
    ) async throws {
        let group = ServiceGroup(
            configuration: .bounded(
                services: application.services, shutdownTimeout: shutdownTimeout, logger: logger))
        let stop = await StopSignals(logger: logger) { _ in await group.triggerGracefulShutdown() }
        var failure: (any Error)?
        do {
            try await group.run()
        } catch {
            failure = error
        }
        switch (stop.signal, failure) {
        case (nil, nil):
            logger.notice("stopped")
        case (nil, let error?):
            logger.error("stopped with an error", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        case (let signal?, nil):
            logger.notice("stopped", metadata: ["signal": "\(signal)"])
        case (let signal?, let error?):
            // Asked to stop: what did not finish in the graceful part was cancelled; that is still a clean exit.
            logger.warning(
                "stopped; work still running at the shutdown bound was cancelled",
                metadata: [
                    "signal": "\(signal)", "error": "\(error)", "shutdown_timeout_s": "\(shutdownTimeout)",
                ])
        }
    }
}

/// The application, once built, for the reload closure it is built with.
final class ApplicationHolder: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: ConnectorApplication?

    var application: ConnectorApplication? {
        get {
            lock.lock()
            defer { lock.unlock() }
            return stored
        }
        set {
            lock.lock()
            stored = newValue
            lock.unlock()
        }
    }
}
