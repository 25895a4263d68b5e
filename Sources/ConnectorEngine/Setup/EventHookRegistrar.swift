public import ConnectorConfiguration
import ConnectorDomain
public import Foundation
public import OktaClient

/// Creates or updates a connector's event hook in Okta and asks Okta to verify it (SPEC §11
/// `hooks register`): the event types of SPEC §5, the connector's auth header and first secret.
public enum EventHookRegistrar {
    /// What registration did.
    public struct Outcome: Sendable {
        public var hook: OktaEventHook
        /// `true` when an existing hook was updated rather than created.
        public var updated: Bool
        /// Verification succeeded (`VERIFIED`); otherwise why it failed.
        public var verificationError: String?
    }

    /// The name the connector gives its hook, to find it again.
    public static func hookName(for connector: ConnectorSettings) -> String { "okta-connector: \(connector.name)" }

    /// Registers the hook at a public URL (the listener's address as Okta reaches it, plus the hook path).
    /// - Parameters:
    ///   - publicURL: The https URL Okta posts to, e.g. `https://connector.example.com/hooks/okta/okta-production`.
    public static func register(connector: ConnectorSettings, publicURL: URL, client: OktaAPIClient) async throws
        -> Outcome
    {
        guard let secret = connector.eventHook.secrets.first else {
            throw OktaError.malformedResponse(endpoint: "hooks register", reason: "the connector has no hook secret")
        }
        let wanted = OktaEventHook(
            name: hookName(for: connector), uri: publicURL.absoluteString,
            eventTypes: OktaLogEvent.subscribedEventTypes,
            authHeader: connector.eventHook.authHeader, secret: secret)
        let existing = try await client.eventHooks().first {
            $0.name == wanted.name || $0.channel.config.uri == wanted.channel.config.uri
        }
        var hook: OktaEventHook
        if let existing, let id = existing.id {
            hook = try await client.replaceEventHook(id: id, with: wanted)
            if hook.status != "ACTIVE" { hook = try await client.eventHookLifecycle(id: id, operation: "activate") }
        } else {
            hook = try await client.createEventHook(wanted)
        }
        guard let id = hook.id else {
            throw OktaError.malformedResponse(endpoint: "POST /api/v1/eventHooks", reason: "the hook has no id")
        }
        do {
            hook = try await client.eventHookLifecycle(id: id, operation: "verify")
            return Outcome(hook: hook, updated: existing != nil, verificationError: nil)
        } catch let error as OktaError {
            return Outcome(hook: hook, updated: existing != nil, verificationError: error.description)
        }
    }
}
