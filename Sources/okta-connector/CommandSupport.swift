import ArgumentParser
import AsyncHTTPClient
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorServer
import ConnectorStore
import Foundation
import Logging
import NIOCore
import PostgreSQLStore
import SQLiteStore

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

    /// For the commands that only read and replay what the store holds (`runs`, `dead-letters`,
    /// `events`): the configuration without resolving Okta and hook secrets, one connector, its store.
    static func readStore(config: String, connector: String) async throws -> (ConnectorSettings, any StateStore) {
        let configuration = try loadConfiguration(config, secrets: .unresolved)
        let settings = try self.connector(connector, in: configuration)
        return (settings, try await openStore(configuration))
    }

    /// Opens the configured store (migrations applied): SQLite or PostgreSQL by `store.url`.
    static func openStore(_ configuration: ServiceConfiguration) async throws -> any StateStore {
        do {
            switch configuration.store.backend {
            case .sqlite(let path):
                return try SQLiteStateStore(path: path, access: configuration.store.fileAccess)
            case .postgres(let url, let password, let caFile):
                var location = try PostgreSQLLocation(url: url)
                if let password { location.password = password.reveal() }
                if let caFile { location.caFile = caFile }
                return try await PostgreSQLStateStore(location: location, logger: logger())
            }
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
    }

    /// The process's HTTP client: TLS 1.2 or newer verified against the system's roots, no
    /// redirects followed, bounded timeouts.
    /// - Parameter connectTimeout: How long a connection may take (short for `check-config --online`).
    static func makeHTTPClient(connectTimeout: TimeAmount = .seconds(10)) -> HTTPClient {
        OutgoingHTTPClient.make(connectTimeout: connectTimeout)
    }

    /// A logger writing to standard error at a level.
    static func logger(level: Logger.Level = .notice) -> Logger {
        var logger = Logger(label: "okta-connector") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = level
        return logger
    }

    /// A logger writing to standard error in the configured `logging.format` (JSON or logfmt); with
    /// a progress printer, each line clears the progress line first and redraws it after.
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
