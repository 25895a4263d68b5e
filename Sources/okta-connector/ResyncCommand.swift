import ArgumentParser
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Foundation

/// `okta-connector resync --all`: send every stored user to the sink again.
struct ResyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resync",
        abstract: "Queue every stored user's current record for the sink again (after the sink lost data).",
        discussion: """
            Okta is not called and no user changes: each present user's mapped record is queued at its \
            current version behind what is queued, and the forwarder of a running `serve` sends it within \
            seconds (or `reconcile` drains it). Removed users are not re-sent. To read one user from Okta \
            again, use the console or `POST /api/connectors/NAME/users/ID/resync`.
            """
    )

    @Option(help: "The configuration file (YAML).") var config: String
    @Option(help: "The connector's name (or URL name).") var connector: String
    @Flag(help: "Every present user (required: the command does nothing else).") var all = false

    func validate() throws {
        guard all else {
            throw ValidationError("add --all: it queues every stored user's record for the sink again")
        }
    }

    func run() async throws {
        try await CommandSupport.withStoreOperations(config: config, connector: connector) { operations in
            let queued = try await operations.resendAll()
            print(
                "Queued \(queued) user record\(queued == 1 ? "" : "s") of \"\(operations.settings.name)\" for the sink again."
            )
        }
    }
}
