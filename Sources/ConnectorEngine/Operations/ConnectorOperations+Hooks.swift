import ConnectorConfiguration
import ConnectorDomain
import Foundation
import Logging
public import OktaClient

// Event hooks in Okta: read, verified and registered for the admin listener, the console and the
// monitor, through ``EventHookRegistrar``.
extension ConnectorOperations {
    /// The client that manages the connector's event hooks in Okta.
    func hookClient(_ action: String) throws -> OktaAPIClient {
        guard let hooks = try requireParts(action).hooks else { throw PartsNotBuilt(action: action) }
        return hooks
    }

    /// The connector's event hooks in Okta: those whose URL path is the connector's hook path.
    public func eventHooks() async throws -> [OktaEventHook] {
        try await hookClient("reading the event hooks").eventHooks().filter {
            EventHookRegistrar.pathMatches($0, connector: settings)
        }
    }

    /// Asks Okta to verify each of the connector's hooks again; says how it went.
    public func verifyHooks() async -> String {
        guard settings.eventSource.takesHooks else {
            // Not a certificate or reachability problem: this connector does not take deliveries.
            return
                "Nothing to verify: this connector's event source is \(settings.eventSource.rawValue), so serve takes no "
                + "deliveries at \(settings.eventHook.path). If Okta still has an ACTIVE hook for it, deactivate it: "
                + "okta-connector hooks deactivate --connector \"\(settings.name)\" --config FILE."
        }
        do {
            let okta = try hookClient("verifying the event hooks")
            let matching = try await eventHooks()
            guard !matching.isEmpty else {
                return "No event hook in Okta delivers to \(settings.eventHook.path): register one first."
            }
            var results: [String] = []
            for hook in matching {
                guard let id = hook.id else { continue }
                do {
                    let verified = try await okta.eventHookLifecycle(id: id, operation: "verify")
                    results.append("\(id): \(verified.verificationStatus ?? "?")")
                } catch let error as OktaError {
                    let url = URL(string: hook.channel.config.uri) ?? settings.okta.url
                    results.append(
                        "\(id): verification FAILED: "
                            + EventHookRegistrar.verificationAdvice(error, url: url, connector: settings))
                } catch {
                    // A transport failure for one hook: said for that hook, the others still asked.
                    results.append("\(id): verification not asked: \(error)")
                }
            }
            logger.notice(
                "event hook verification asked from the console",
                metadata: ["result": "\(results.joined(separator: "; "))"])
            return "Verification: " + results.joined(separator: "; ")
        } catch {
            return "Okta could not be asked: \(error)"
        }
    }

    /// Creates or replaces the connector's hook at its `event_hook.public_url` and has Okta verify
    /// it; says how it went. The admin API and the console register that URL only: a bearer of the
    /// admin token cannot point Okta's events (and the hook secret) anywhere else (SPEC §20).
    /// - Parameter url: Empty for `event_hook.public_url`; any other URL is refused.
    public func registerHook(url: String) async -> String {
        let asked = url.trimmingCharacters(in: .whitespaces)
        guard let publicURL = settings.eventHook.publicURL else {
            return "Not registered: "
                + EventHookRegistrar.Refusal.noPublicURL(connector: settings.name, path: settings.eventHook.path)
                .description
        }
        if !asked.isEmpty, asked != publicURL.absoluteString {
            logger.warning(
                "event hook registration of another URL than event_hook.public_url refused",
                metadata: ["asked_url": "\(asked.prefix(200))", "public_url": "\(publicURL.absoluteString)"])
            return "Not registered: "
                + EventHookRegistrar.Refusal.notThePublicURL(
                    url: String(asked.prefix(200)), publicURL: publicURL.absoluteString, connector: settings.name
                ).description
        }
        do {
            let outcome = try await EventHookRegistrar.register(
                connector: settings, publicURL: publicURL, client: try hookClient("registering the event hook"),
                logger: logger)
            let hook = outcome.hook
            logger.notice(
                "event hook registered from the console",
                metadata: [
                    "hook": "\(hook.id ?? "?")",
                    "verified": "\(outcome.verificationError == nil)",
                ])
            if let error = outcome.verificationError {
                return "Hook \(hook.id ?? "?") → \(hook.channel.config.uri) created, but verification FAILED: \(error)"
                    + (outcome.kept.isEmpty ? "" : " The earlier hook was kept unchanged.")
            }
            var notice =
                "\(outcome.updated ? "Replaced" : "Created") event hook \(hook.id ?? "?") → \(hook.channel.config.uri): \(hook.status ?? "?"), verified."
            for (old, reason) in outcome.leftOver {
                notice += " The earlier hook \(old.id ?? "?") could not be removed: \(reason)."
            }
            return notice
        } catch let refusal as EventHookRegistrar.Refusal {
            return "Not registered: \(refusal.description)"
        } catch {
            return "Not registered: \(error)"
        }
    }
}
