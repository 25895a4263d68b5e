public import ConnectorConfiguration
import ConnectorDomain
public import Foundation
public import Logging
public import OktaClient

/// Creates or replaces a connector's event hook in Okta and asks Okta to verify it (`hooks register`):
/// the event types the applier acts on, the connector's auth header and its first secret.
///
/// An update never breaks a working hook: the new registration is created and verified first, and
/// only once Okta has verified it are the connector's earlier hooks deactivated and deleted. If
/// verification fails, the new registration is removed again and the earlier hooks stay as they were.
/// (The hook's secret is write-only in Okta, so an earlier registration cannot be restored after an
/// in-place replacement; a second hook for a moment only duplicates deliveries, which the inbox
/// deduplicates by event id.)
public enum EventHookRegistrar {
    /// Why a registration was refused before any call to Okta.
    public enum Refusal: Error, Sendable, CustomStringConvertible {
        /// The URL's path is not the connector's `event_hook.path`: Okta would deliver to a path that
        /// `serve` does not answer.
        case pathMismatch(url: String, urlPath: String, hookPath: String, connector: String)
        /// The connector has no hook secret to give Okta.
        case noSecret(connector: String)
        /// The connector polls the System Log only: `serve` answers no hook path for it.
        case pollsOnly(connector: String)
        /// Not the connector's `event_hook.public_url`, the one URL registrations use (SPEC §20).
        case notThePublicURL(url: String, publicURL: String, connector: String)
        /// A surface that registers only `event_hook.public_url` (admin API, console) without one.
        case noPublicURL(connector: String, path: String)

        public var description: String {
            switch self {
            case .pathMismatch(let url, let urlPath, let hookPath, let connector):
                return
                    "the URL \(url) has the path \(urlPath.isEmpty ? "/" : urlPath), but connector \"\(connector)\" "
                    + "receives events at \(hookPath) (event_hook.path); use a URL ending in \(hookPath), "
                    + "or change event_hook.path and reload serve first"
            case .noSecret(let connector):
                return "connector \"\(connector)\" has no event hook secret (event_hook.secrets)"
            case .pollsOnly(let connector):
                return
                    "connector \"\(connector)\" has event_source: system_log, so serve takes no event hook deliveries "
                    + "for it; set event_source to hooks or both (with event_hook) to register a hook"
            case .notThePublicURL(let url, let publicURL, let connector):
                return
                    "\(url) is not connector \"\(connector)\"'s event_hook.public_url (\(publicURL)): hooks are registered "
                    + "at that URL only; change event_hook.public_url and reload to move the hook"
            case .noPublicURL(let connector, let path):
                return
                    "connector \"\(connector)\" has no event_hook.public_url: set it to the https URL Okta reaches "
                    + "the listener at (ending in \(path)) and reload; the admin API and console register only that URL"
            }
        }
    }

    /// What registration did.
    public struct Outcome: Sendable {
        /// The new registration (verified, or not when `verificationError` is set).
        public var hook: OktaEventHook
        /// The connector's earlier hooks, deactivated and deleted after the new one was verified.
        public var replaced: [OktaEventHook]
        /// The connector's earlier hooks, left untouched because the new one failed verification.
        public var kept: [OktaEventHook]
        /// Earlier hooks that could not be removed after the new one was verified, with the reason.
        public var leftOver: [(hook: OktaEventHook, reason: String)]
        /// `true` when the failed new registration was deleted again (there were earlier hooks to keep).
        public var newHookRemoved: Bool
        /// Verification succeeded (`VERIFIED`); otherwise why it failed and what Okta needs.
        public var verificationError: String?

        /// `true` when the connector had a hook before.
        public var updated: Bool { !replaced.isEmpty || !kept.isEmpty || !leftOver.isEmpty }
    }

    /// The name the connector gives its hook, to find it again.
    public static func hookName(for connector: ConnectorSettings) -> String { "okta-connector: \(connector.name)" }

    /// Whether a hook delivers to the connector's hook path (on any host).
    public static func pathMatches(_ hook: OktaEventHook, connector: ConnectorSettings) -> Bool {
        URL(string: hook.channel.config.uri)?.path == connector.eventHook.path
    }

    /// Registers the hook at a public URL (the listener's address as Okta reaches it, plus the hook path).
    /// - Parameters:
    ///   - connector: The connector whose hook this is.
    ///   - publicURL: The https URL Okta posts to, e.g. `https://connector.example.com/hooks/okta/okta-production`;
    ///     its path must be the connector's `event_hook.path`.
    ///   - client: The connector's Okta client (needs `okta.eventHooks.manage` with OAuth).
    /// - Returns: What was created, replaced or kept.
    /// - Throws: ``Refusal`` before any Okta call, or the ``OktaError`` of a call that failed.
    public static func register(
        connector: ConnectorSettings, publicURL: URL, client: OktaAPIClient,
        logger: Logger = Logger(label: "okta-connector.hooks")
    ) async throws -> Outcome {
        guard connector.eventSource.takesHooks else { throw Refusal.pollsOnly(connector: connector.name) }
        if let configured = connector.eventHook.publicURL, configured.absoluteString != publicURL.absoluteString {
            throw Refusal.notThePublicURL(
                url: publicURL.absoluteString, publicURL: configured.absoluteString, connector: connector.name)
        }
        guard publicURL.path == connector.eventHook.path else {
            throw Refusal.pathMismatch(
                url: publicURL.absoluteString, urlPath: publicURL.path, hookPath: connector.eventHook.path,
                connector: connector.name)
        }
        guard let secret = connector.eventHook.secrets.first else { throw Refusal.noSecret(connector: connector.name) }
        let wanted = OktaEventHook(
            name: hookName(for: connector), uri: publicURL.absoluteString,
            eventTypes: connector.eventHook.subscribedEventTypes,
            authHeader: connector.eventHook.authHeader, secret: secret)
        let earlier = try await client.eventHooks().filter {
            $0.name == wanted.name || $0.channel.config.uri == wanted.channel.config.uri
        }
        // Where Okta's events (and the secret, in every delivery) go: said loudly, with the URLs.
        logger.warning(
            "registering the event hook: Okta will deliver to the new URL",
            metadata: [
                "connector": "\(connector.slug)", "new_url": "\(publicURL.absoluteString)",
                "old_urls": "\(earlier.map(\.channel.config.uri).joined(separator: ", "))",
            ])
        var hook = try await client.createEventHook(wanted)
        guard let id = hook.id else {
            throw OktaError.malformedResponse(endpoint: "POST /api/v1/eventHooks", reason: "the hook has no id")
        }
        if hook.status != "ACTIVE" { hook = try await client.eventHookLifecycle(id: id, operation: "activate") }
        var outcome = Outcome(
            hook: hook, replaced: [], kept: [], leftOver: [], newHookRemoved: false, verificationError: nil)
        do {
            outcome.hook = try await client.eventHookLifecycle(id: id, operation: "verify")
        } catch let error as OktaError {
            outcome.verificationError = verificationAdvice(error, url: publicURL, connector: connector)
            if !earlier.isEmpty {
                // Keep what worked: remove the unverified newcomer, leave the earlier hooks as they were.
                outcome.kept = earlier
                outcome.newHookRemoved = (try? await remove(id: id, client: client)) != nil
            }
            return outcome
        }
        for old in earlier {
            guard let oldId = old.id else { continue }
            do {
                try await remove(id: oldId, client: client)
                outcome.replaced.append(old)
            } catch {
                outcome.leftOver.append((old, "\(error)"))
            }
        }
        return outcome
    }

    /// Deactivates (when active) and deletes a hook; Okta deletes only inactive hooks.
    /// - Parameters:
    ///   - id: The hook's id.
    ///   - client: The Okta client.
    public static func remove(id: String, client: OktaAPIClient) async throws {
        let hook = try await client.eventHook(id: id)
        if hook.status != "INACTIVE" { _ = try await client.eventHookLifecycle(id: id, operation: "deactivate") }
        try await client.deleteEventHook(id: id)
    }

    /// Okta's reason for a failed verification and what it needs, instead of only its generic `E0000001`.
    /// - Parameters:
    ///   - error: The error of the `verify` call.
    ///   - url: The hook's URL.
    ///   - connector: The connector that should answer it.
    /// - Returns: One paragraph for the operator.
    public static func verificationAdvice(_ error: OktaError, url: URL, connector: ConnectorSettings) -> String {
        var reason = error.description
        if case .apiError(_, _, let body?) = error {
            let causes = (body.errorCauses ?? []).compactMap(\.errorSummary).filter { !$0.isEmpty }
            reason =
                "Okta answered \(body.errorCode) \(body.errorSummary)"
                + (causes.isEmpty ? "" : " (\(causes.joined(separator: "; ")))")
        }
        let port = url.port.map { "port \($0)" } ?? "port 443"
        return """
            \(reason). Okta verifies a hook with a GET to \(url.absoluteString) from the internet and \
            needs: the URL reachable from the internet over HTTPS on \(port), with a certificate from a \
            publicly trusted certificate authority (not self-signed, full chain); `okta-connector serve` \
            running with this configuration behind it, its listener (server.listen) receiving the path \
            \(connector.eventHook.path); and serve using the same secret in the \(connector.eventHook.authHeader) \
            header as this configuration (the first of event_hook.secrets)
            """
    }
}
