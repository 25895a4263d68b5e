import ConnectorDomain
public import Foundation

extension ServiceConfiguration {
    /// A human summary of the configuration, without secrets: what `check-config` prints.
    /// - Parameter now: The instant the next due times are computed from.
    /// - Returns: Text, one block per connector.
    public func summary(now: Date) -> String {
        var lines: [String] = []
        lines.append("Configuration \(file) is valid.")
        lines.append(
            "  event hook listener: \(server.tls == nil ? "http (plain, test mode)" : "https")://\(server.listen)"
                + (server.tls == nil && !server.listen.isLoopback
                    ? " — WARNING: plain HTTP reachable from the network (insecure_plain_http)" : ""))
        if let admin = server.admin {
            lines.append(
                "  admin listener:      \(admin.tls == nil ? "http" : "https")://\(admin.listen) (bearer token required)"
                    + (admin.tls == nil && !admin.listen.isLoopback
                        ? " — WARNING: plain HTTP reachable from the network (insecure_plain_http)" : ""))
        } else {
            lines.append("  admin listener:      off")
        }
        switch store.backend {
        case .sqlite(let path): lines.append("  store:               SQLite \(path)")
        case .postgres: lines.append("  store:               PostgreSQL")
        }
        lines.append("  connector server:    \(server.connectorServer)")
        lines.append("  logging:             \(logging.format.rawValue), \(logging.level)")
        lines.append("Security:")
        if server.tls != nil {
            lines.append("  listener TLS:        TLS 1.2 or newer, forward-secret cipher suites only")
        } else {
            lines.append("  listener TLS:        off (insecure_plain_http, test mode)")
        }
        let limits = server.limits
        lines.append(
            "  listener limits:     \(limits.maxConnections) connections, \(Self.seconds(limits.requestDeadline)) per request "
                + "(headers and body), \(Self.seconds(limits.idleTimeout)) idle, \(server.maxBodyBytes) bytes per body; "
                + "credentials checked before the body is read")
        lines.append("  outgoing calls:      TLS 1.2 or newer, certificates verified, redirects not followed")
        var plain: [String] = []
        for connector in connectors {
            if connector.okta.url.scheme?.lowercased() == "http" { plain.append("\(connector.name): Okta URL") }
            if case .http(let sink) = connector.sink {
                for (what, url) in [("sink endpoint", sink.endpoint), ("sink token URL", sink.tokenURL)]
                where url.scheme?.lowercased() == "http" {
                    plain.append("\(connector.name): \(what)")
                }
            }
        }
        lines.append(
            "  outgoing URLs:       "
                + (plain.isEmpty
                    ? "all https"
                    : "plain http allowed by allow_insecure_http (tests only) for " + plain.joined(separator: ", ")))
        lines.append("  personal data files: created \(store.fileAccess)")
        for connector in connectors {
            lines.append("")
            let runsHere = connector.server == server.connectorServer
            lines.append(
                "Connector \"\(connector.name)\" (\(connector.slug))"
                    + (connector.active ? "" : " — inactive")
                    + (runsHere ? "" : " — not run here: server \(connector.server) ≠ \(server.connectorServer)"))
            lines.append("  server:        \(connector.server)")
            lines.append("  Okta URL:      \(connector.okta.url.absoluteString)")
            lines.append("  credentials:   \(connector.okta.credentials.kind)")
            lines.append("  rate limit:    at most \(Int(connector.okta.rateLimitShare * 100))% of each Okta bucket")
            lines.append("  user statuses: \(connector.userStatuses.map(\.rawValue).joined(separator: ", "))")
            lines.append("  schedule:      \(connector.schedule)")
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = connector.schedule.timeZone
            formatter.dateFormat = "EEE yyyy-MM-dd HH:mm zzz"
            for due in connector.schedule.occurrences(after: now, count: 3) {
                lines.append("    next due:    \(formatter.string(from: due)) (\(Timestamp(due).iso8601))")
            }
            lines.append("  event source:  \(connector.eventSource.rawValue)")
            if connector.eventSource.takesHooks {
                lines.append(
                    "  event hook:    \(connector.eventHook.path) (header \(connector.eventHook.authHeader), "
                        + "\(connector.eventHook.secrets.count) secret\(connector.eventHook.secrets.count == 1 ? "" : "s"))"
                )
                lines.append("  hook URL:      \(hookURL(for: connector))")
            }
            if connector.eventSource.polls {
                let log = connector.systemLog
                lines.append(
                    "  System Log:    polled every \(Self.seconds(log.interval)), overlap \(Self.seconds(log.overlap))"
                        + (connector.eventSource == .both ? ", hook grace \(Self.seconds(log.hookGrace))" : ""))
            }
            let enrich = [
                connector.enrich.apps ? "apps" : nil, connector.enrich.devices ? "devices" : nil,
                connector.enrich.groups ? "groups" : nil,
            ]
            .compactMap { $0 }
            if !connector.scopeGroups.isEmpty {
                lines.append(
                    "  user scope:    members of \(connector.scopeGroups.map { "\"\($0)\"" }.joined(separator: ", "))")
            }
            lines.append(
                "  enrichment:    \(enrich.isEmpty ? "none" : enrich.joined(separator: ", ")) (plan \(connector.enrich.plan.rawValue))"
            )
            if !connector.mapper.overrides.isEmpty {
                let overrides = connector.mapper.overrides.keys.sorted().map {
                    "\($0) ← \(connector.mapper.overrides[$0]!)"
                }
                lines.append("  overrides:     \(overrides.joined(separator: ", "))")
            }
            lines.append(
                "  removals held: above \(Int(connector.reconcile.maxRemovalShare * 100))% of users in one run")
            lines.append("  sink:          \(connector.sink.summary)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A duration for people: `10s`, `1.5s`.
    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))s" : "\(value)s"
    }

    /// The URL to give Okta for a connector's event hook (`hooks register --url`), from the
    /// listener's address, with a note when that address cannot be what Okta reaches.
    func hookURL(for connector: ConnectorSettings) -> String {
        let scheme = server.tls == nil ? "http" : "https"
        let url = "\(scheme)://\(server.listen)\(connector.eventHook.path)"
        let wildcard = ["0.0.0.0", "::", "127.0.0.1", "localhost", "::1"].contains(server.listen.host)
        guard wildcard else { return url + " (Okta must reach this address; the certificate must name its host)" }
        return url
            + " — replace \(server.listen.host) with the public host name Okta reaches (the certificate must name it)"
            + " and keep the port unless a proxy forwards another one"
    }
}
