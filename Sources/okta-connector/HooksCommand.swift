import ArgumentParser
import AsyncHTTPClient
import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import Foundation
import Logging
import OktaClient

/// `okta-connector hooks`: the connector's Okta event hooks.
struct HooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hooks",
        abstract: "Register, check, list, verify, deactivate and delete the connector's Okta event hooks.",
        discussion: """
            Every subcommand calls the Okta org of the connector chosen with --connector (optional when \
            the file has one connector). With an API token the token's admin must be allowed to manage \
            event hooks; with an OAuth service app, register, verify, deactivate and delete need the scope \
            okta.eventHooks.manage and list and show need okta.eventHooks.read (or manage).
            """,
        subcommands: [Register.self, Status.self, List.self, Show.self, Verify.self, Deactivate.self, Delete.self]
    )

    /// The options every `hooks` subcommand takes.
    struct Target: ParsableArguments {
        @Option(help: "The configuration file (YAML).") var config: String
        @Option(help: "The connector's name (or URL name); optional when the file has one connector.")
        var connector: String?

        /// Loads the configuration and picks the connector.
        func load() throws -> (ServiceConfiguration, ConnectorSettings) {
            let configuration = try CommandSupport.loadConfiguration(config)
            if let connector { return (configuration, try CommandSupport.connector(connector, in: configuration)) }
            guard configuration.connectors.count == 1, let only = configuration.connectors.first else {
                let known = configuration.connectors.map { "\"\($0.name)\"" }.joined(separator: ", ")
                CommandSupport.printError("the file has several connectors; choose one with --connector: \(known)")
                throw ExitCode(2)
            }
            return (configuration, only)
        }

        /// The commands' logger: the configured `logging.format`, at `notice` (the Okta client's
        /// retries and pauses, the registration's warning).
        func logger(_ configuration: ServiceConfiguration) -> Logger {
            CommandSupport.logger(configuration.logging, level: .notice)
        }

        /// Runs `body` with the connector's Okta client; Okta errors exit 1 with their message.
        func withOkta(
            _ body: (ServiceConfiguration, ConnectorSettings, OktaAPIClient) async throws -> Void
        ) async throws {
            let (configuration, settings) = try load()
            let http = OutgoingHTTPClient.make()
            let client = ConnectorAssembly.oktaClient(
                for: settings, httpClient: http, clock: SystemWallClock(), logger: logger(configuration))
            do {
                try await body(configuration, settings, client)
                try? await http.shutdown()
            } catch let error as OktaError {
                try? await http.shutdown()
                CommandSupport.printError(error.description)
                throw ExitCode(1)
            } catch {
                try? await http.shutdown()
                throw error
            }
        }
    }

    /// `okta-connector hooks register`.
    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "register",
            abstract: "Create or replace the connector's event hook in Okta, then ask Okta to verify it.",
            discussion: """
                The hook subscribes to the event types the connector applies and sends the connector's \
                auth header with its first secret. Okta verifies it at once by calling the URL with a \
                challenge, so run this while `serve` is listening behind that URL, reachable from the \
                internet over HTTPS with a publicly trusted certificate. The URL's path must be the \
                connector's event_hook.path.

                A working hook is never broken: when the connector already has a hook, a new one is \
                created and verified first, and the old one is deactivated and deleted only after Okta \
                verified the new one. If verification fails the old hook is kept as it was. Exit 0 when \
                verified, 1 otherwise, 2 when the URL or the configuration is refused.
                """
        )

        @OptionGroup var target: Target
        @Option(
            help:
                "The https URL Okta posts to: the listener's public address and the hook path. Default: the connector's event_hook.public_url; another URL is refused when that is set."
        ) var url: String?

        func run() async throws {
            let (_, settings) = try target.load()
            guard let url = url ?? settings.eventHook.publicURL?.absoluteString else {
                CommandSupport.printError(
                    "give --url, or set event_hook.public_url: the https URL Okta reaches the listener at, e.g. https://connector.example.com\(settings.eventHook.path)"
                )
                throw ExitCode(2)
            }
            guard let publicURL = URL(string: url), let scheme = publicURL.scheme, ["https", "http"].contains(scheme),
                publicURL.host != nil
            else {
                CommandSupport.printError(
                    "--url must be the https URL Okta reaches the listener at, e.g. https://connector.example.com\(settings.eventHook.path)"
                )
                throw ExitCode(2)
            }
            guard publicURL.path == settings.eventHook.path else {
                CommandSupport.printError(
                    EventHookRegistrar.Refusal.pathMismatch(
                        url: url, urlPath: publicURL.path, hookPath: settings.eventHook.path, connector: settings.name
                    ).description)
                throw ExitCode(2)
            }
            try await target.withOkta { configuration, settings, client in
                let outcome: EventHookRegistrar.Outcome
                do {
                    outcome = try await EventHookRegistrar.register(
                        connector: settings, publicURL: publicURL, client: client, logger: target.logger(configuration))
                } catch let refusal as EventHookRegistrar.Refusal {
                    CommandSupport.printError(refusal.description)
                    throw ExitCode(2)
                }
                let hook = outcome.hook
                if let error = outcome.verificationError {
                    print("Created event hook \(hook.id ?? "?") \"\(hook.name)\" → \(hook.channel.config.uri)")
                    print("  verification FAILED: \(error)")
                    if outcome.kept.isEmpty {
                        print(
                            "  The new hook stays registered but unverified (Okta sends it nothing); fix the above, then run "
                                + "`okta-connector hooks verify --config \(target.config) --connector \"\(settings.name)\"`."
                        )
                    } else {
                        print(
                            outcome.newHookRemoved
                                ? "  The new hook was removed again."
                                : "  The new hook could not be removed; delete it.")
                        for kept in outcome.kept {
                            print(
                                "  Kept unchanged: \(kept.id ?? "?") → \(kept.channel.config.uri) "
                                    + "(\(kept.status ?? "?"), \(kept.verificationStatus ?? "?"))")
                        }
                    }
                    throw ExitCode(1)
                }
                print(
                    "\(outcome.updated ? "Replaced" : "Created") event hook: \(hook.id ?? "?") \"\(hook.name)\" → \(hook.channel.config.uri)"
                )
                print(
                    "  \(hook.events.items.count) event types, header \(settings.eventHook.authHeader), \(hook.status ?? "?"), verified: Okta will deliver events to it"
                )
                for old in outcome.replaced {
                    print("  removed the earlier hook \(old.id ?? "?") → \(old.channel.config.uri)")
                }
                for (old, reason) in outcome.leftOver {
                    print("  could not remove the earlier hook \(old.id ?? "?") → \(old.channel.config.uri): \(reason)")
                    print(
                        "    (harmless duplicates until removed: `okta-connector hooks delete --id \(old.id ?? "?")`)")
                }
            }
        }
    }

    /// `okta-connector hooks status`.
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Say whether Okta delivers events to the connector: its hooks' status and verification.",
            discussion: """
                Exit 0 when at least one hook with the connector's event_hook.path is ACTIVE and VERIFIED \
                (Okta delivers to it), 1 otherwise, with what to do.
                """
        )

        @OptionGroup var target: Target

        func run() async throws {
            var delivering = false
            try await target.withOkta { _, settings, client in
                let hooks = try await client.eventHooks().filter {
                    EventHookRegistrar.pathMatches($0, connector: settings)
                }
                for hook in hooks {
                    print(
                        "\(hook.id ?? "?")  \(hook.status ?? "?")  \(hook.verificationStatus ?? "?")  "
                            + "\(Terminal.clean(hook.channel.config.uri))")
                }
                delivering = hooks.contains { $0.status == "ACTIVE" && $0.verificationStatus == "VERIFIED" }
                if delivering {
                    print("\"\(settings.name)\": Okta delivers events to \(settings.eventHook.path).")
                } else if hooks.isEmpty {
                    print(
                        "\"\(settings.name)\": no event hook in \(settings.okta.url.absoluteString) delivers to "
                            + "\(settings.eventHook.path); events arrive only through the reconcile. Register one with "
                            + "`okta-connector hooks register --config \(target.config) --connector \"\(settings.name)\" --url https://…\(settings.eventHook.path)`."
                    )
                } else {
                    print(
                        "\"\(settings.name)\": no hook is both ACTIVE and VERIFIED, so Okta delivers nothing; "
                            + "`okta-connector hooks verify` asks Okta to verify again, `hooks register` replaces the hook."
                    )
                }
            }
            if !delivering { throw ExitCode(1) }
        }
    }

    /// `okta-connector hooks list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the Okta org's event hooks and which connector each one reaches.",
            discussion: """
                One line per hook: id, status, verification status, URL, name, and the connectors of the \
                configuration whose event_hook.path is the URL's path. Only ACTIVE and VERIFIED hooks \
                receive events.
                """
        )

        @OptionGroup var target: Target

        func run() async throws {
            try await target.withOkta { configuration, _, client in
                let hooks = try await client.eventHooks()
                guard !hooks.isEmpty else {
                    print("The org has no event hooks.")
                    return
                }
                let rows = hooks.map { hook -> [String] in
                    let matching = configuration.connectors.filter {
                        EventHookRegistrar.pathMatches(hook, connector: $0)
                    }
                    return [
                        hook.id ?? "?", hook.status ?? "?", hook.verificationStatus ?? "?",
                        Terminal.clean(hook.channel.config.uri), Terminal.clean(hook.name),
                        matching.isEmpty ? "-" : matching.map(\.name).joined(separator: ", "),
                    ]
                }
                Terminal.printTable(
                    header: ["id", "status", "verification", "url", "name", "connector"], rows: rows)
            }
        }
    }

    /// `okta-connector hooks show`.
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show an event hook in detail (by --id, or the connector's hooks).",
            discussion: "Without --id: every hook whose URL path is the connector's event_hook.path."
        )

        @OptionGroup var target: Target
        @Option(help: "The hook's id (as `hooks list` shows it).") var id: String?

        func run() async throws {
            try await target.withOkta { _, settings, client in
                let hooks = try await Selection.hooks(id: id, connector: settings, client: client)
                for hook in hooks {
                    print(Terminal.describe(hook, connector: settings))
                }
            }
        }
    }

    /// `okta-connector hooks verify`.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Ask Okta to verify an event hook again (by --id, or the connector's hooks).",
            discussion: """
                Okta calls the hook's URL with a challenge that `serve` answers. Use it after fixing what \
                made `hooks register` fail. Exit 0 when every hook verified, 1 otherwise.
                """
        )

        @OptionGroup var target: Target
        @Option(help: "The hook's id (as `hooks list` shows it).") var id: String?

        func run() async throws {
            var failed = false
            try await target.withOkta { _, settings, client in
                for hook in try await Selection.hooks(id: id, connector: settings, client: client) {
                    guard let hookId = hook.id else { continue }
                    do {
                        let verified = try await client.eventHookLifecycle(id: hookId, operation: "verify")
                        print("\(hookId) → \(verified.channel.config.uri): \(verified.verificationStatus ?? "?")")
                    } catch let error as OktaError {
                        failed = true
                        let url = URL(string: hook.channel.config.uri) ?? URL(string: "https://invalid")!
                        print(
                            "\(hookId) → \(hook.channel.config.uri): verification FAILED: "
                                + EventHookRegistrar.verificationAdvice(error, url: url, connector: settings))
                    }
                }
            }
            if failed { throw ExitCode(1) }
        }
    }

    /// `okta-connector hooks deactivate`.
    struct Deactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "deactivate",
            abstract: "Deactivate event hooks: Okta stops delivering to them (by --id, or the connector's hooks).",
            discussion: """
                Without --id: every hook whose URL path is the connector's event_hook.path. Asks for \
                confirmation unless --yes is given. Events Okta records meanwhile reach the connector \
                only through the next full reconcile.
                """
        )

        @OptionGroup var target: Target
        @Option(help: "The hook's id (as `hooks list` shows it).") var id: String?
        @Flag(help: "Do not ask for confirmation.") var yes = false

        func run() async throws {
            try await target.withOkta { _, settings, client in
                let hooks = try await Selection.hooks(id: id, connector: settings, client: client)
                try Selection.confirm("Deactivate", hooks, yes: yes)
                for hook in hooks {
                    guard let hookId = hook.id else { continue }
                    let done = try await client.eventHookLifecycle(id: hookId, operation: "deactivate")
                    print("\(hookId) → \(done.channel.config.uri): \(done.status ?? "?")")
                }
            }
        }
    }

    /// `okta-connector hooks delete`.
    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete",
            abstract: "Deactivate and delete event hooks (by --id, or the connector's hooks).",
            discussion: """
                Without --id: only hooks whose URL path is the connector's event_hook.path; with --id, \
                that hook whatever its URL. Asks for confirmation unless --yes is given (without a \
                terminal, --yes is required). A deleted hook cannot be restored; register it again.
                """
        )

        @OptionGroup var target: Target
        @Option(help: "The hook's id (as `hooks list` shows it).") var id: String?
        @Flag(help: "Do not ask for confirmation.") var yes = false

        func run() async throws {
            try await target.withOkta { _, settings, client in
                let hooks = try await Selection.hooks(id: id, connector: settings, client: client)
                try Selection.confirm("Delete", hooks, yes: yes)
                for hook in hooks {
                    guard let hookId = hook.id else { continue }
                    try await EventHookRegistrar.remove(id: hookId, client: client)
                    print("\(hookId) → \(hook.channel.config.uri): deleted")
                }
            }
        }
    }

    /// Which hooks a subcommand acts on, and the confirmation before a change.
    enum Selection {
        /// The hook with `id`, or the connector's hooks (URL path = its hook path); exits 2 when none.
        static func hooks(id: String?, connector: ConnectorSettings, client: OktaAPIClient) async throws
            -> [OktaEventHook]
        {
            if let id {
                do {
                    return [try await client.eventHook(id: id)]
                } catch OktaError.notFound {
                    CommandSupport.printError(
                        "Okta has no event hook with the id \(id) (see `okta-connector hooks list`)")
                    throw ExitCode(2)
                }
            }
            let hooks = try await client.eventHooks().filter {
                EventHookRegistrar.pathMatches($0, connector: connector)
            }
            guard !hooks.isEmpty else {
                CommandSupport.printError(
                    "no event hook in \(connector.okta.url.absoluteString) delivers to \(connector.eventHook.path) "
                        + "(connector \"\(connector.name)\"); `okta-connector hooks list` shows every hook, "
                        + "--id picks one")
                throw ExitCode(2)
            }
            return hooks
        }

        /// Lists the hooks and asks to go ahead unless `yes`; without a terminal `yes` is required.
        static func confirm(_ verb: String, _ hooks: [OktaEventHook], yes: Bool) throws {
            for hook in hooks {
                print(
                    "\(hook.id ?? "?") \(hook.status ?? "?") \(hook.verificationStatus ?? "?") → "
                        + "\(Terminal.clean(hook.channel.config.uri)) \"\(Terminal.clean(hook.name))\"")
            }
            if yes { return }
            guard isatty(STDIN_FILENO) == 1 else {
                CommandSupport.printError("\(verb) \(hooks.count) hook(s)? Not without a terminal: add --yes")
                throw ExitCode(2)
            }
            print("\(verb) \(hooks.count) hook(s)? Type yes to go ahead: ", terminator: "")
            guard readLine()?.trimmingCharacters(in: .whitespaces).lowercased() == "yes" else {
                print("Nothing changed.")
                throw ExitCode(1)
            }
        }
    }

    /// Terminal output for hooks; values from Okta have their control characters escaped.
    enum Terminal {
        static func clean(_ text: String) -> String {
            String(
                text.unicodeScalars.flatMap { scalar -> [Character] in
                    scalar.properties.generalCategory == .control
                        ? Array(scalar.escaped(asASCII: true)) : [Character(scalar)]
                })
        }

        static func printTable(header: [String], rows: [[String]]) {
            let widths = header.indices.map { column in
                ([header] + rows).map { $0[column].count }.max() ?? 0
            }
            for row in [header] + rows {
                let cells = row.enumerated().map { index, cell in
                    index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                }
                print(cells.joined(separator: "  "))
            }
        }

        static func describe(_ hook: OktaEventHook, connector: ConnectorSettings) -> String {
            let auth = hook.channel.config.authScheme.map { "\($0.type) \(clean($0.key))" } ?? "none"
            let headers = (hook.channel.config.headers ?? []).map { clean($0.key) }
            let subscribed = Set(hook.events.items)
            let wanted = connector.eventHook.subscribedEventTypes
            let missing = wanted.filter { !subscribed.contains($0) }
            // Sign-ins a `changes` hook still takes count against the org's daily cap for nothing.
            let unwanted = OktaLogEvent.loginEventTypes.filter { subscribed.contains($0) && !wanted.contains($0) }
            var lines = [
                "\(hook.id ?? "?") \"\(clean(hook.name))\"",
                "  url:           \(clean(hook.channel.config.uri))",
                "  status:        \(hook.status ?? "?") (only ACTIVE and VERIFIED hooks receive events)",
                "  verification:  \(hook.verificationStatus ?? "?")",
                "  auth header:   \(auth)"
                    + (hook.channel.config.authScheme?.key == connector.eventHook.authHeader
                        ? "" : " (the connector expects \(connector.eventHook.authHeader))"),
                "  event types:   \(hook.events.items.count)"
                    + (missing.isEmpty ? "" : ", \(missing.count) the connector applies are missing")
                    + (unwanted.isEmpty
                        ? ""
                        : ", \(unwanted.count) sign-in types event_types: changes leaves out (run hooks register)"),
                "  connector:     "
                    + (EventHookRegistrar.pathMatches(hook, connector: connector)
                        ? "\(connector.name) (path \(connector.eventHook.path))"
                        : "not \(connector.name)'s path \(connector.eventHook.path)"),
            ]
            if !headers.isEmpty { lines.append("  extra headers: \(headers.joined(separator: ", "))") }
            if let created = hook.created { lines.append("  created:       \(created)") }
            if let updated = hook.lastUpdated { lines.append("  last updated:  \(updated)") }
            return lines.joined(separator: "\n")
        }
    }
}
