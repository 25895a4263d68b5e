public import ConnectorDomain
public import Foundation

/// What can go wrong talking to Okta, with a message an operator can act on.
public enum OktaError: Error, Sendable, CustomStringConvertible {
    /// `401`: the API token or access token is not valid (Okta `E0000011`).
    case invalidCredentials(summary: String)
    /// `403`: the credentials lack a scope or an admin permission.
    case missingPermission(endpoint: String, summary: String, requiredScope: String?)
    /// `404 E0000007`: the resource does not exist (a user deleted in Okta).
    case notFound(endpoint: String)
    /// Still rate limited after every allowed wait.
    case rateLimited(endpoint: String, attempts: Int)
    /// Another error answer that retries did not fix (including a `404` without Okta's `E0000007`,
    /// which is never taken for a deletion).
    case apiError(endpoint: String, status: Int, body: OktaErrorBody?)
    /// A response that does not decode as Okta's documented shape.
    case malformedResponse(endpoint: String, reason: String)
    /// The same `next` link came twice; following it would loop (seen in the wild, SPEC §6).
    case repeatedCursor(endpoint: String)
    /// A `next` link pointing away from the org: never followed, it would carry the credentials elsewhere.
    case foreignLink(endpoint: String, host: String)
    /// The connection failed, timed out or was dropped, after every retry.
    case transport(endpoint: String, reason: String)
    /// OAuth 2.0 token request failed.
    case tokenRequestFailed(status: Int, error: String, description: String)
    /// Okta rejected the connector's credentials before, and calls are held back until a probe
    /// succeeds (``OktaCredentialPause``); this call did not reach Okta.
    case credentialsRejected(reason: String, nextProbeAt: Date)

    public var description: String {
        switch self {
        case .invalidCredentials(let summary):
            return "Okta rejected the credentials (401: \(summary)): check okta.api_token or the OAuth service app"
        case .missingPermission(let endpoint, let summary, let scope):
            let hint =
                scope.map { "; grant the scope \($0) to the service app" } ?? "; use an admin token with read access"
            return "Okta refused \(endpoint) (403: \(summary))\(hint)"
        case .notFound(let endpoint): return "Okta answered 404 E0000007 for \(endpoint)"
        case .rateLimited(let endpoint, let attempts):
            return "Okta kept answering 429 for \(endpoint) after \(attempts) waits for the rate-limit reset"
        case .apiError(let endpoint, let status, let body):
            return "Okta answered \(status) for \(endpoint)"
                + (body.map { ": \($0.errorCode) \($0.errorSummary) (errorId \($0.errorId ?? "-"))" } ?? "")
        case .malformedResponse(let endpoint, let reason): return "Okta's answer to \(endpoint) is malformed: \(reason)"
        case .repeatedCursor(let endpoint):
            return "Okta returned the same next link twice for \(endpoint); the listing stopped"
        case .foreignLink(let endpoint, let host):
            return "Okta's next link for \(endpoint) points to another host (\(host)); not followed"
        case .transport(let endpoint, let reason): return "\(reason) (Okta call \(endpoint))"
        case .tokenRequestFailed(let status, let error, let description):
            return
                "Okta refused the OAuth token request (\(status) \(error): \(description)): check the service app's client id, key and scopes"
        case .credentialsRejected(let reason, let nextProbeAt):
            return
                "Okta calls are paused: \(reason); the next probe is at \(Timestamp(nextProbeAt).iso8601), or reload a fixed configuration"
        }
    }

    /// Errors that a configuration change, not a retry, fixes.
    public var isConfigurationError: Bool {
        switch self {
        case .invalidCredentials, .missingPermission, .tokenRequestFailed, .credentialsRejected: return true
        default: return false
        }
    }
}
