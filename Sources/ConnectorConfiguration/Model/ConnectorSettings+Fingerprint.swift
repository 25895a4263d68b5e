import ConnectorDomain
import Foundation

extension ConnectorSettings {
    /// A value that differs whenever any setting of the connector differs, secrets included (it is
    /// compared, never shown): a configuration reload restarts exactly the connectors it changed.
    public var fingerprint: String {
        var parts: [String] = [
            name, slug, server, String(active), okta.url.absoluteString, String(okta.rateLimitShare),
        ]
        switch okta.credentials {
        case .apiToken(let token): parts.append("token:" + token.reveal())
        case .oauth(let app):
            switch app.authentication {
            case .privateKey(let key, let keyId): parts += ["oauth:" + app.clientId, key.reveal(), keyId ?? ""]
            case .clientSecret(let secret): parts += ["oauth-secret:" + app.clientId, secret.reveal()]
            }
            parts += [app.scopes.joined(separator: " "), app.dpop.rawValue]
        }
        parts.append(userStatuses.map(\.rawValue).joined(separator: ","))
        parts.append("\(schedule.repeats)|\(schedule.startTime)|\(schedule.timeZone.identifier)")
        parts += [eventHook.path, eventHook.authHeader] + eventHook.secrets.map { $0.reveal() }
        parts.append("\(enrich.apps)|\(enrich.devices)|\(enrich.groups)|\(enrich.plan.rawValue)")
        parts.append(scopeGroups.joined(separator: "\u{1F}"))
        parts.append(mapper.overrides.keys.sorted().map { "\($0)=\(mapper.overrides[$0]!)" }.joined(separator: ","))
        switch sink {
        case .ndjson(let settings): parts += ["ndjson", settings.path, String(settings.batchSize)]
        case .csv(let settings):
            parts += [
                "csv", settings.directory, String(settings.delimiter), String(settings.keep),
                String(settings.realtimeInterval), String(settings.batchSize),
            ]
        case .http(let settings):
            parts += [
                "http", settings.endpoint.absoluteString, settings.tokenURL.absoluteString, settings.clientId,
                settings.clientSecret.reveal(), settings.scope ?? "", String(settings.batchSize), settings.caFile ?? "",
            ]
        }
        parts.append(String(reconcile.maxRemovalShare))
        parts += [
            eventSource.rawValue, String(systemLog.interval), String(systemLog.overlap), String(systemLog.hookGrace),
        ]
        return parts.joined(separator: "\u{1F}")
    }
}
