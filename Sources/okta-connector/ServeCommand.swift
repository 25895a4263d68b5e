import ArgumentParser
import AsyncHTTPClient
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
        abstract: "Run the connector: the HTTPS event hook listener, the event appliers and the scheduled reconciles.",
        discussion: """
            Runs every connector whose server name matches server.connector_server: event hook \
            deliveries are stored durably and applied to user state in real time, and the full \
            reconcile runs on each connector's schedule (at once when none has succeeded yet). \
            SIGTERM or SIGINT stops it gracefully: in-flight requests are answered and transactions \
            committed. The admin API, metrics, the status page and forwarding to the sink arrive \
            with the next versions.
            """
    )

    @Option(help: "The configuration file (YAML).") var config: String

    func run() async throws {
        let configuration = try CommandSupport.loadConfiguration(config)
        let store = try CommandSupport.openStore(configuration)
        StructuredLogHandler.bootstrap(configuration.logging)
        let logger = Logger(label: "okta-connector")
        let http = CommandSupport.makeHTTPClient()
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
        let application = try ConnectorApplication(
            configuration: configuration, store: store, httpClient: http, clock: SystemWallClock(), logger: logger,
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
        let group = ServiceGroup(
            configuration: .init(
                services: application.services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            logger.error("stopped with an error", metadata: ["error": "\(error)"])
            try? await http.shutdown()
            throw ExitCode(1)
        }
        try? await http.shutdown()
        logger.notice("stopped")
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
