import ArgumentParser
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Foundation

/// `okta-connector dead-letters`: changes the sink rejected for good.
struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters", abstract: "Show or re-queue changes the sink rejected.",
        subcommands: [List.self, Replay.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a connector's dead letters with the sink's reason.")
        @Option(help: "The configuration file (YAML).") var config: String
        @Option(help: "The connector's name (or URL name).") var connector: String
        @Option(help: "How many to show.") var limit = 100

        func run() async throws {
            try await CommandSupport.readStore(config: config, connector: connector) { settings, store in
                let letters = try await store.deadLetters(connector: settings.slug, limit: limit)
                guard !letters.isEmpty else {
                    print("No dead letters for \"\(settings.name)\".")
                    return
                }
                for letter in letters {
                    print(
                        "\(letter.id)  \(letter.failedAt.iso8601)  \(letter.operation.rawValue) \(letter.userId) v\(letter.version)  \(letter.reason)"
                    )
                }
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move dead letters back to the end of the outbox (all, or the given ids).")
        @Option(help: "The configuration file (YAML).") var config: String
        @Option(help: "The connector's name (or URL name).") var connector: String
        @Argument(help: "Dead letter ids; none means all of the connector's.") var ids: [Int64] = []

        func run() async throws {
            try await CommandSupport.withStoreOperations(config: config, connector: connector) { operations in
                let count = try await operations.replayDeadLetters(ids: ids.isEmpty ? nil : ids)
                print(
                    "Re-queued \(count) dead letter\(count == 1 ? "" : "s") of \"\(operations.settings.name)\" for the sink."
                )
            }
        }
    }
}
