public import AsyncHTTPClient
public import ConnectorConfiguration
public import ConnectorDomain
public import Foundation
public import Logging
public import OktaClient

extension OktaAPIClient {
    /// The Okta client of a configured connector: its credentials, its own rate limiter at its
    /// `rate_limit_share`, on the process's shared HTTP client.
    public static func make(
        for connector: ConnectorSettings, httpClient: HTTPClient, clock: any WallClock, logger: Logger,
        retry: RetryPolicy = .okta, pause: OktaCredentialPause = OktaCredentialPause(), callTimeout: TimeInterval = 60
    ) -> OktaAPIClient {
        let method: OktaCredentialsProvider.Method
        switch connector.okta.credentials {
        case .apiToken(let token): method = .apiToken(token)
        case .oauth(let app):
            method = .serviceApp(
                clientId: app.clientId, privateKeyPEM: app.privateKey, keyId: app.keyId, scopes: app.scopes)
        }
        var log = logger
        log[metadataKey: "connector"] = "\(connector.slug)"
        // Okta's concurrency limit (75 per org by default) is shared like its buckets.
        let concurrency = max(2, Int((75 * connector.okta.rateLimitShare).rounded(.down)) / 2)
        return OktaAPIClient(
            orgURL: connector.okta.url,
            credentials: OktaCredentialsProvider(
                method: method, orgURL: connector.okta.url, httpClient: httpClient, clock: clock),
            httpClient: httpClient, limiter: OktaRateLimiter(share: connector.okta.rateLimitShare, clock: clock),
            clock: clock,
            retry: retry, maximumConcurrency: concurrency, stats: OktaCallStats(connector: connector.slug),
            pause: pause,
            logger: log, callTimeout: callTimeout)
    }
}
