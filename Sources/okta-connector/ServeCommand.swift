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
            Runs every connector whose server name matches server.connector_server: event hook
            deliveries are stored durably and applied to user state in real time, and the full
            reconcile runs on each connector's schedule (at once when none has succeeded yet).
            SIGTERM or SIGINT stops it gracefully: in-flight requests are answered and transactions
            committed. The admin API, metrics, the status page and forwarding to the sink arrive
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
            })
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
