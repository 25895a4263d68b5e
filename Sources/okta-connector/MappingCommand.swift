import ArgumentParser
import ConnectorConfiguration
import ConnectorDomain
import Foundation

/// `okta-connector mapping`: print the Okta → Neurons mapping table.
struct MappingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mapping",
        abstract: "Print the mapping of Okta user fields to Neurons target attributes.",
        discussion: """
            The CSV form is the table operators download to see how data is mapped. With --config and \
            --connector, the connector's mapping.overrides are applied.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case csv, markdown
    }

    @Option(name: .long, help: "Output format: csv or markdown.")
    var format: Format = .csv

    @Option(name: .long, help: "A configuration file whose connector's overrides to apply.")
    var config: String?

    @Option(name: .long, help: "The connector (name or URL name) whose overrides to apply; needs --config.")
    var connector: String?

    func validate() throws {
        if (config == nil) != (connector == nil) {
            throw ValidationError("--config and --connector go together")
        }
    }

    func run() throws {
        var mapper = UserMapper()
        if let config, let connector {
            let configuration: ServiceConfiguration
            do {
                configuration = try ConfigurationLoader.load(path: config)
            } catch {
                FileHandle.standardError.write(Data((error.description + "\n").utf8))
                throw ExitCode(2)
            }
            guard let settings = configuration.connector(named: connector) else {
                let known = configuration.connectors.map(\.name).joined(separator: ", ")
                throw ValidationError("no connector named \"\(connector)\" in \(config) (connectors: \(known))")
            }
            mapper = settings.mapper
        }
        switch format {
        case .csv: print(mapper.tableCSV, terminator: "")
        case .markdown: print(mapper.tableMarkdown, terminator: "")
        }
    }
}
