import ArgumentParser
import ConnectorServer

/// `okta-connector version`: the version and the git commit the binary was built from.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print the version and the git commit this binary was built from.",
        discussion: """
            The same values as the okta_connector_build_info metric and the container image's \
            org.opencontainers.image.version and .revision labels. A plain `swift build` prints the \
            release in the VERSION file and commit `unknown`; scripts/stamp-version.sh stamps the commit.
            """
    )

    @Flag(help: "Print only the version.") var short = false

    func run() throws {
        print(short ? BuildInfo.version : BuildInfo.description)
    }
}
