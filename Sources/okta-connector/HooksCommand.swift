import ArgumentParser
import AsyncHTTPClient
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import Foundation
import OktaClient

/// `okta-connector hooks`: the connector's Okta event hook.
struct HooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hooks", abstract: "Manage the connector's Okta event hook.", subcommands: [Register.self])

    /// `okta-connector hooks register`.
    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "register",
            abstract: "Create or update the connector's event hook in Okta, then ask Okta to verify it.",
            discussion: """
                The hook subscribes to the event types the connector applies (SPEC §5) and sends the \
                connector's auth header with its first secret. Okta verifies it by calling the URL with a \
                challenge, so run this while `serve` is listening at that URL. Exit 0 when verified, 1 otherwise.
                """
        )

        @Option(help: "The configuration file (YAML).") var config: String
        @Option(help: "The connector's name (or URL name).") var connector: String
        @Option(help: "The https URL Okta posts to: the listener's public address and the hook path.") var url: String

        func run() async throws {
            let configuration = try CommandSupport.loadConfiguration(config)
            let settings = try CommandSupport.connector(connector, in: configuration)
            guard let publicURL = URL(string: url), let scheme = publicURL.scheme, ["https", "http"].contains(scheme),
                publicURL.host != nil
            else {
                throw ValidationError(
                    "--url must be the https URL Okta reaches the listener at, e.g. https://connector.example.com\(settings.eventHook.path)"
                )
            }
            if publicURL.path != settings.eventHook.path {
                print(
                    "note: the URL's path \(publicURL.path) differs from the connector's hook path \(settings.eventHook.path)"
                )
            }
            let http = CommandSupport.makeHTTPClient()
            let client = OktaAPIClient.make(
                for: settings, httpClient: http, clock: SystemWallClock(), logger: CommandSupport.logger())
            do {
                let outcome = try await EventHookRegistrar.register(
                    connector: settings, publicURL: publicURL, client: client)
                try? await http.shutdown()
                print(
                    "\(outcome.updated ? "Updated" : "Created") event hook \(outcome.hook.id ?? "?") \"\(outcome.hook.name)\" → \(outcome.hook.channel.config.uri)"
                )
                print(
                    "  \(outcome.hook.events.items.count) event types, header \(settings.eventHook.authHeader), status \(outcome.hook.status ?? "?")"
                )
                if let error = outcome.verificationError {
                    print("  verification FAILED: \(error)")
                    throw ExitCode(1)
                }
                print("  verified: Okta will deliver events to it")
            } catch let error as OktaError {
                try? await http.shutdown()
                CommandSupport.printError(error.description)
                throw ExitCode(1)
            }
        }
    }
}
