import ArgumentParser
import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorServer
import ConnectorStore
import Foundation
import Logging

/// What the subcommands share: loading the configuration, opening the store, one HTTP client.
enum CommandSupport {
    /// Loads the configuration or exits 2 with every problem listed.
    /// - Parameter secrets: `.unresolved` for commands that only read the store: they need neither
    ///   the Okta token nor the hook secrets (an on-call person reading status is not handed them).
    static func loadConfiguration(_ path: String, secrets: SecretResolution = .resolve) throws -> ServiceConfiguration {
        do {
            return try ConfigurationLoader.load(path: path, secrets: secrets)
        } catch {
            printError(error.description)
            throw ExitCode(2)
        }
    }

    /// The connector with a name or URL name, or exits 2 naming the known ones.
    static func connector(_ name: String, in configuration: ServiceConfiguration) throws -> ConnectorSettings {
        guard let connector = configuration.connector(named: name) else {
            let known = configuration.connectors.map { "\"\($0.name)\"" }.joined(separator: ", ")
            printError("no connector named \"\(name)\" in \(configuration.file); connectors: \(known)")
            throw ExitCode(2)
        }
        return connector
    }

    /// For the commands that only read what the store holds (`runs`, `dead-letters`, `events`): the
    /// configuration without resolving Okta and hook secrets, one connector, and its store, open
    /// while `body` runs.
    static func readStore(
        config: String, connector: String, _ body: (ConnectorSettings, any StateStore) async throws -> Void
    ) async throws {
        let configuration = try loadConfiguration(config, secrets: .unresolved)
        let settings = try self.connector(connector, in: configuration)
        try await withStore(configuration, logger: logger(configuration.logging, level: .warning)) { store in
            try await body(settings, store)
        }
    }

    /// The operations of one connector over its store alone, for the commands that replay what the
    /// store holds (`dead-letters replay`, `events retry`, `resync --all`): no Okta token is resolved.
    static func withStoreOperations(
        config: String, connector: String, _ body: (ConnectorOperations) async throws -> Void
    ) async throws {
        let configuration = try loadConfiguration(config, secrets: .unresolved)
        let settings = try self.connector(connector, in: configuration)
        let logger = logger(configuration.logging, level: .warning)
        try await withStore(configuration, logger: logger) { store in
            try await body(
                ConnectorOperations(
                    settings: settings, store: store, parts: nil, clock: SystemWallClock(), logger: logger))
        }
    }

    /// Opens the configured store (migrations applied), or exits 1 saying why, and keeps it open and
    /// running while `body` works on it.
    /// - Parameter logger: The logger the store and its database library log through.
    static func withStore<T>(
        _ configuration: ServiceConfiguration, logger: Logger, _ body: (any StateStore) async throws -> T
    ) async throws -> T {
        let store: any StateStore
        do {
            store = try await StoreOpening.open(configuration.store, logger: logger)
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        return try await StoreOpening.using(store, body)
    }

    /// A logger writing to standard error in the configured `logging.format` (JSON or logfmt): every
    /// command logs through it, and hands it to the store and the Okta client it builds. With a
    /// progress printer, each line clears the progress line first and redraws it after.
    static func logger(
        _ settings: LoggingSettings, level: Logger.Level, progress: ReconcileProgressPrinter? = nil
    ) -> Logger {
        Logger(label: "okta-connector") { label in
            let handler = StructuredLogHandler(label: label, format: settings.format, level: level)
            guard let progress else { return handler }
            return ProgressAwareLogHandler(handler, printer: progress)
        }
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((TerminalOutput.safe(text) + "\n").utf8))
    }

    /// Whether standard output is a terminal (progress redraws a line) or not (plain lines).
    static var isTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
}
