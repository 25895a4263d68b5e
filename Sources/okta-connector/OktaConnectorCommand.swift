import ArgumentParser
import ConnectorServer

/// `okta-connector`: keeps Neurons' user data in step with an Okta org.
@main
struct OktaConnectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "okta-connector",
        abstract: "Keeps the Neurons Platform's user data in step with an Okta org.",
        discussion: """
            Okta Event Hook deliveries update users in real time; a scheduled full reconcile lists every \
            user from the Okta Management API and corrects any drift. Mapped records go to a sink \
            (NDJSON, CSV snapshots for the Neurons CSV connector, or the Neurons HTTP endpoint).
            """,
        version: BuildInfo.description,
        subcommands: [
            DemoCommand.self, ServeCommand.self, StatusCommand.self, CheckConfigCommand.self, MappingCommand.self,
            ReconcileCommand.self,
            RunsCommand.self, ResyncCommand.self,
            HooksCommand.self, DeadLettersCommand.self, EventsCommand.self,
            VersionCommand.self,
        ]
    )
}
