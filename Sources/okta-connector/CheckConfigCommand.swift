import ArgumentParser
import ConnectorConfiguration
import Foundation

/// `okta-connector check-config`: validate a configuration file without starting anything.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file and summarise each connector.",
        discussion: """
            Reads the YAML file, resolves ${ENV} references and *_file secrets, and checks every key.
            On success prints each connector (name, server, Okta URL, statuses, schedule with its next
            three due times, hook path, sink) without secrets and exits 0. On failure lists every
            problem with file, line and key path, and exits 2.
            """
    )

    @Option(name: .long, help: "The configuration file (YAML).")
    var config: String

    func run() throws {
        do {
            let configuration = try ConfigurationLoader.load(path: config)
            print(configuration.summary(now: Date()), terminator: "")
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(2)
        }
    }
}
