import ArgumentParser
import AsyncHTTPClient
import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import Foundation
import Logging
import NIOCore

/// `okta-connector check-config`: validate a configuration file without starting anything.
struct CheckConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file and summarise each connector.",
        discussion: """
            Reads the YAML file, resolves ${ENV} references and *_file secrets, and checks every key. \
            On success prints each connector (name, server, Okta URL, statuses, schedule with its next \
            three due times, hook path, sink) without secrets and exits 0. On failure lists every \
            problem with file, line and key path, and exits 2. With --online it also calls Okta once per \
            permission the connector needs (users, apps, devices), checks the store (the SQLite file's \
            folder, or one PostgreSQL connection with the configured TLS, password and database) and the \
            sink (a token for http, a writable folder for files); a failed check exits 1 with what to fix.
            """
    )

    @Option(name: .long, help: "The configuration file (YAML).")
    var config: String

    @Flag(
        help: "Also check the store, each connector's Okta credentials and scopes (one cheap call each) and its sink.")
    var online = false

    func run() async throws {
        let configuration: ServiceConfiguration
        do {
            configuration = try ConfigurationLoader.load(path: config)
            // Written at once (not buffered), like the online checks' lines after it, so a pipe gets them in order.
            FileHandle.standardOutput.write(Data(configuration.summary(now: Date()).utf8))
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(2)
        }
        guard online else { return }
        func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
        let http = OutgoingHTTPClient.make(connectTimeout: .seconds(5))
        // In the configured format; at `critical`, since each check's outcome is said on its own line.
        let logger = CommandSupport.logger(configuration.logging, level: .critical)
        var failed = false
        say("\nOnline checks:")
        let storeProblem = await StoreOpening.check(configuration.store, logger: logger)
        say("  store: \(storeProblem.map { "FAILED — \($0)" } ?? "ok")")
        if storeProblem != nil { failed = true }
        for connector in configuration.connectors {
            // Said before the calls, at once: an Okta that does not answer takes seconds per call.
            say(
                "  \(connector.name): asking Okta at \(connector.okta.url.absoluteString) (each call gives up after 10 s) and checking the sink…"
            )
            let results = await OnlineCheck.check(connector, httpClient: http, clock: SystemWallClock(), logger: logger)
            for result in results {
                say("  \(connector.name): \(result.item): \(result.problem.map { "FAILED — \($0)" } ?? "ok")")
                if result.problem != nil { failed = true }
            }
        }
        try? await http.shutdown()
        if failed { throw ExitCode(1) }
    }
}
