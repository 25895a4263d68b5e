import ArgumentParser
import AsyncHTTPClient
import ConnectorConfiguration
import ConnectorStore
import Foundation
import Logging
import NIOCore

/// What the subcommands share: loading the configuration, opening the store, one HTTP client.
enum CommandSupport {
    /// Loads the configuration or exits 2 with every problem listed.
    static func loadConfiguration(_ path: String) throws -> ServiceConfiguration {
        do {
            return try ConfigurationLoader.load(path: path)
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

    /// Opens the configured store (migrations applied).
    static func openStore(_ configuration: ServiceConfiguration) throws -> any StateStore {
        switch configuration.store.backend {
        case .sqlite(let path):
            do {
                return try SQLiteStateStore(path: path)
            } catch {
                printError("\(error)")
                throw ExitCode(1)
            }
        case .postgres:
            printError("PostgreSQL is not supported by this version yet")
            throw ExitCode(2)
        }
    }

    /// The process's HTTP client: TLS verified against the system's roots, bounded timeouts.
    static func makeHTTPClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// A logger writing to standard error at a level.
    static func logger(level: Logger.Level = .notice) -> Logger {
        var logger = Logger(label: "okta-connector") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = level
        return logger
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Whether standard output is a terminal (progress redraws a line) or not (plain lines).
    static var isTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
}
