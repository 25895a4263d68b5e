import ArgumentParser
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Foundation

/// `okta-connector events`: inbox events that failed for good, and replaying them.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events", abstract: "Show or retry inbox events that could not be applied.",
        discussion: """
            An event fails for good when Okta answers its refresh with an error a retry cannot fix (a \
            400, a 404 other than a deleted user, a malformed answer) or after 8 attempts with backoff. \
            Failed events never block newer ones. Retry them once the cause is fixed; a running serve \
            applies them within seconds.
            """,
        subcommands: [ListFailed.self, Retry.self])

    struct ListFailed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list-failed", abstract: "List a connector's failed events with the last error.")
        @Option(help: "The configuration file (YAML).") var config: String
        @Option(help: "The connector's name (or URL name).") var connector: String
        @Option(help: "How many to show.") var limit = 100

        func run() async throws {
            try await CommandSupport.readStore(config: config, connector: connector) { settings, store in
                let events = try await store.failedEvents(connector: settings.slug, limit: limit)
                guard !events.isEmpty else {
                    print("No failed events for \"\(settings.name)\".")
                    return
                }
                for event in events {
                    print(
                        "\(event.seq)  \(event.failedAt.iso8601)  \(event.eventType) user \(event.subjectUserId ?? "-")  "
                            + "\(event.attempts) attempt\(event.attempts == 1 ? "" : "s")  \(event.lastError)")
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make failed events pending again (all, or the given ids), with their attempts reset.")
        @Option(help: "The configuration file (YAML).") var config: String
        @Option(help: "The connector's name (or URL name).") var connector: String
        @Argument(help: "Event ids (the first column of list-failed); none means all of the connector's.")
        var ids: [Int64] = []

        func run() async throws {
            try await CommandSupport.withStoreOperations(config: config, connector: connector) { operations in
                let count = try await operations.retryFailedEvents(ids: ids.isEmpty ? nil : ids)
                print(
                    "\(count) failed event\(count == 1 ? "" : "s") of \"\(operations.settings.name)\" will be applied again."
                )
            }
        }
    }
}
