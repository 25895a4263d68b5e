import ConnectorConfiguration
import ConnectorDomain
import Foundation
import Testing

/// A minimal valid connector block; tests replace lines in it.
let validConnector = """
      - name: Okta production
        okta:
          url: https://acme.okta.com
          api_token: ${OKTA_API_TOKEN}
        user_statuses: [ACTIVE, SUSPENDED]
        schedule: { repeats: daily, start_time: "02:00", time_zone: Europe/Berlin }
        event_hook:
          secrets: ["${OKTA_HOOK_SECRET}"]
        sink: { type: ndjson, path: out/users.ndjson }
    """

let testServer = """
    server:
      insecure_plain_http: true
    """

let environment = [
    "OKTA_API_TOKEN": "00aTopSecretToken", "OKTA_HOOK_SECRET": "hook-secret-value-1-with-at-least-32-bytes-0123456789",
]

func load(_ yaml: String, env: [String: String] = environment) throws(ConfigurationInvalid) -> ServiceConfiguration {
    try ConfigurationLoader.parse(yaml: yaml, file: "/etc/okta-connector/config.yaml", environment: env)
}

/// The errors of a configuration that must be rejected.
func errors(_ yaml: String, env: [String: String] = environment) -> [ConfigError] {
    do {
        _ = try load(yaml, env: env)
        Issue.record("the configuration was accepted")
        return []
    } catch {
        return error.errors
    }
}

func config(_ connectors: String...) -> String {
    testServer + "\nconnectors:\n" + connectors.joined(separator: "\n")
}

@Suite("Configuration: loading")
struct ConfigurationLoadingTests {
    @Test func minimalConfigurationGetsDocumentedDefaults() throws {
        let configuration = try load(config(validConnector))
        #expect(configuration.server.listen == ListenAddress(host: "0.0.0.0", port: 8443))
        #expect(configuration.server.connectorServer == "Cloud")
        #expect(configuration.server.maxBodyBytes == 1 << 20)
        #expect(configuration.server.shutdownTimeout == 20, "SPEC §11: 20 s, inside Kubernetes' 30 s grace")
        #expect(configuration.store.backend == .sqlite(path: "/etc/okta-connector/okta-connector.db"))
        #expect(configuration.logging == LoggingSettings(format: .logfmt, level: "info"))
        let connector = try #require(configuration.connectors.first)
        #expect(connector.name == "Okta production")
        #expect(connector.slug == "okta-production")
        #expect(connector.server == "Cloud")
        #expect(connector.active)
        #expect(connector.okta.url.absoluteString == "https://acme.okta.com")
        #expect(connector.okta.rateLimitShare == 0.5)
        #expect(connector.userStatuses == [.active, .suspended])
        #expect(connector.schedule.repeats == .days(1))
        #expect(connector.schedule.timeZone.identifier == "Europe/Berlin")
        #expect(connector.eventHook.path == "/hooks/okta/okta-production")
        #expect(connector.eventHook.authHeader == "Authorization")
        #expect(
            connector.eventHook.secrets.map { $0.reveal() } == ["hook-secret-value-1-with-at-least-32-bytes-0123456789"]
        )
        #expect(connector.enrich == EnrichSettings(apps: true, devices: true, groups: true, plan: .auto))
        #expect(connector.scopeGroups.isEmpty, "every user of the selected statuses")
        #expect(connector.reconcile.maxRemovalShare == 0.2)
        guard case .apiToken(let token) = connector.okta.credentials else {
            Issue.record("API token expected")
            return
        }
        #expect(token.reveal() == "00aTopSecretToken")
        guard case .ndjson(let sink) = connector.sink else {
            Issue.record("ndjson sink expected")
            return
        }
        #expect(sink.path == "/etc/okta-connector/out/users.ndjson", "relative to the configuration file")
    }

    @Test func statusesDefaultToAllButDeprovisioned() throws {
        let yaml = config(validConnector.replacingOccurrences(of: "    user_statuses: [ACTIVE, SUSPENDED]\n", with: ""))
        let connector = try #require(try load(yaml).connectors.first)
        #expect(connector.userStatuses.count == 7)
        #expect(!connector.userStatuses.contains(.deprovisioned))
    }

    @Test func everyOptionIsRead() throws {
        let directory = try TemporaryDirectory()
        let certificate = try directory.write("tls.crt", "CERT")
        let key = try directory.write("tls.key", "KEY")
        let token = try directory.write("admin-token", "admin-token-value-with-at-least-32-bytes-0123456789\n")
        let pem = try directory.write(
            "service-app.pem", "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n")
        let hookSecrets = try directory.write(
            "hook-secrets",
            "first-secret-with-at-least-32-bytes-0123456789\n\nsecond-secret-with-at-least-32-bytes-0123456789\n")
        let neurons = try directory.write("neurons-secret", "neurons-client-secret")
        let yaml = """
            server:
              listen: "[::]:9443"
              tls: { certificate: \(certificate), private_key: \(key) }
              admin: { listen: 127.0.0.1:9191, token_file: \(token) }
              connector_server: onprem-1
              max_body_bytes: 2097152
              shutdown_timeout: 8s
            store: { url: "sqlite:///var/lib/okta-connector/state.db" }
            logging: { format: json, level: debug }
            connectors:
              - name: EU org
                server: onprem-1
                active: false
                okta:
                  url: https://eu.example.com/
                  oauth: { client_id: 0oaClient, private_key_file: \(pem), key_id: kid-1 }
                  rate_limit_share: 0.25
                user_statuses: [deprovisioned]
                schedule: { repeats: every 2 weeks, on: saturday, start_time: "23:15" }
                event_hook:
                  path: /okta/eu
                  auth_header: X-Okta-Secret
                  secrets_file: \(hookSecrets)
                enrich: { apps: false, devices: true, groups: false, plan: bulk }
                user_scope: { groups: ["Sales, EMEA", 00g1abcdefGHIJKL0h7] }
                mapping: { overrides: { User.CostCenter: profile.costCenter, User.Badge: profile.badge.id } }
                reconcile: { max_removal_share: 0.05 }
                sink:
                  type: http
                  endpoint: https://neurons.example.com/ingest
                  token_url: https://login.example.com/tenant/connect/token
                  client_id: okta-connector
                  client_secret_file: \(neurons)
                  scope: dataservices.write
                  batch_size: 250
              - name: CSV export
                okta: { url: https://acme.okta.com, api_token_file: \(token) }
                schedule: { repeats: monthly, on: last, start_time: "01:00", time_zone: America/New_York }
                event_hook: { secrets: [a-long-enough-secret-with-at-least-32-bytes-0123456789] }
                sink: { type: csv, directory: /srv/csv, delimiter: ";", keep: 3, realtime_interval: 5m }
            """
        let configuration = try load(yaml)
        #expect(configuration.server.listen == ListenAddress(host: "::", port: 9443))
        #expect(configuration.server.tls == TLSFiles(certificatePath: certificate, privateKeyPath: key))
        #expect(configuration.server.admin?.listen == ListenAddress(host: "127.0.0.1", port: 9191))
        #expect(
            configuration.server.admin?.token.reveal() == "admin-token-value-with-at-least-32-bytes-0123456789",
            "trailing newline dropped")
        #expect(configuration.server.maxBodyBytes == 2_097_152)
        #expect(configuration.server.shutdownTimeout == 8)
        #expect(configuration.store.backend == .sqlite(path: "/var/lib/okta-connector/state.db"))
        #expect(configuration.logging == LoggingSettings(format: .json, level: "debug"))
        let eu = configuration.connectors[0]
        #expect(!eu.active)
        #expect(eu.okta.rateLimitShare == 0.25)
        #expect(eu.userStatuses == [.deprovisioned])
        #expect(eu.schedule.repeats == .weeks(2, on: .saturday))
        #expect(
            eu.eventHook.secrets.map { $0.reveal() } == [
                "first-secret-with-at-least-32-bytes-0123456789", "second-secret-with-at-least-32-bytes-0123456789",
            ])
        #expect(eu.eventHook.authHeader == "X-Okta-Secret")
        #expect(eu.enrich == EnrichSettings(apps: false, devices: true, groups: false, plan: .bulk))
        #expect(eu.scopeGroups == ["Sales, EMEA", "00g1abcdefGHIJKL0h7"])
        #expect(eu.mapper.overrides.keys.sorted() == ["User.Badge", "User.CostCenter"])
        #expect(eu.reconcile.maxRemovalShare == 0.05)
        guard case .oauth(let app) = eu.okta.credentials, case .http(let http) = eu.sink else {
            Issue.record("oauth credentials and http sink expected")
            return
        }
        #expect(app.clientId == "0oaClient")
        #expect(app.keyId == "kid-1")
        #expect(app.privateKey?.reveal().hasPrefix("-----BEGIN PRIVATE KEY-----") == true)
        #expect(
            app.scopes == ["okta.users.read", "okta.apps.read", "okta.devices.read", "okta.groups.read"],
            "groups are off, but the user scope needs okta.groups.read")
        #expect(app.dpop == .auto, "DPoP is learnt from Okta's answer by default")
        #expect(http.clientSecret.reveal() == "neurons-client-secret")
        #expect(http.batchSize == 250)
        #expect(http.scope == "dataservices.write")
        let csv = configuration.connectors[1]
        guard case .csv(let csvSink) = csv.sink else {
            Issue.record("csv sink expected")
            return
        }
        #expect(csvSink.delimiter == ";")
        #expect(csvSink.keep == 3)
        #expect(csvSink.realtimeInterval == 300)
        #expect(csv.schedule.repeats == .monthly(on: .last))
        #expect(configuration.connectorsForThisServer.map(\.name) == ["EU org"])
    }

    @Test func environmentReferencesAreSubstitutedInValuesNotText() throws {
        // A variable holding YAML syntax stays a plain string value.
        let env = environment.merging([
            "ORG": "https://acme.okta.com", "SECRET": "a: b, [c] and more, to be 32 bytes long",
        ]) { $1 }
        let yaml = config(
            validConnector.replacingOccurrences(of: "https://acme.okta.com", with: "${ORG}")
                .replacingOccurrences(
                    of: "\"${OKTA_HOOK_SECRET}\"", with: "\"${SECRET}\", \"$${LITERAL_SECRET_OF_AT_LEAST_32_BYTES}\""))
        let connector = try #require(try load(yaml, env: env).connectors.first)
        #expect(connector.okta.url.absoluteString == "https://acme.okta.com")
        #expect(
            connector.eventHook.secrets.map { $0.reveal() } == [
                "a: b, [c] and more, to be 32 bytes long", "${LITERAL_SECRET_OF_AT_LEAST_32_BYTES}",
            ])
    }

    @Test func theDeployExampleIsValidOnceItsSecretsExist() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let example = try String(
            contentsOf: root.appendingPathComponent("deploy/okta-connector.example.yaml"), encoding: .utf8)
        let directory = try TemporaryDirectory()
        let yaml =
            example
            .replacingOccurrences(of: "/etc/okta-connector/tls.crt", with: try directory.write("tls.crt", "x"))
            .replacingOccurrences(of: "/etc/okta-connector/tls.key", with: try directory.write("tls.key", "x"))
            .replacingOccurrences(
                of: "/run/secrets/okta-connector-admin-token",
                with: try directory.write("token", "admin-token-with-at-least-32-bytes-0123456789"))
        let configuration = try ConfigurationLoader.parse(
            yaml: yaml, file: "deploy/okta-connector.example.yaml", environment: environment)
        #expect(configuration.connectors.count == 1)
        #expect(configuration.connectors[0].mapper.overrides["User.CostCenter"]?.description == "profile.costCenter")
    }

    @Test func theSimulatorConfigurationIsValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let configuration = try ConfigurationLoader.load(
            path: root.appendingPathComponent("deploy/okta-connector.simulator.yaml").path, environment: [:])
        #expect(configuration.connectors.map(\.slug) == ["simulated-org"])
        #expect(configuration.connectors[0].okta.url.absoluteString == "http://127.0.0.1:8080")
    }

    @Test func summaryShowsEachConnectorWithNextDueTimesAndNoSecrets() throws {
        let configuration = try load(config(validConnector))
        let summary = configuration.summary(now: utc("2026-03-27T12:00:00Z"))
        #expect(summary.contains("Connector \"Okta production\" (okta-production)"))
        #expect(summary.contains("Okta URL:      https://acme.okta.com"))
        #expect(summary.contains("user statuses: ACTIVE, SUSPENDED"))
        #expect(summary.contains("(2026-03-28T01:00:00.000Z)"))
        #expect(summary.contains("(2026-03-29T01:00:00.000Z)"))
        #expect(summary.contains("(2026-03-30T00:00:00.000Z)"))
        #expect(summary.contains("/hooks/okta/okta-production"))
        #expect(summary.contains("ndjson → /etc/okta-connector/out/users.ndjson"))
        #expect(!summary.contains("00aTopSecretToken"))
        #expect(!summary.contains("hook-secret-value-1-with-at-least-32-bytes-0123456789"))
    }
}

func utc(_ text: String) -> Date { Timestamp.parse(text)!.date }

/// A folder removed when the value goes away.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("okta-connector-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes a file and returns its path.
    func write(_ name: String, _ content: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try content.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

@Suite("Configuration: OAuth client secret and DPoP (SPEC §19)")
struct OAuthConfigurationTests {
    @Test func aClientSecretAppWithDPoPRequiredIsRead() throws {
        let directory = try TemporaryDirectory()
        let secret = try directory.write("okta-client-secret", "the-client-secret\n")
        let configuration = try load(
            """
            server: { listen: 127.0.0.1:9443, insecure_plain_http: true }
            store: { url: "sqlite:///tmp/state.db" }
            connectors:
              - name: OIN app
                okta:
                  url: https://acme.okta.com
                  oauth: { client_id: 0oaSecret, client_secret_file: \(secret), dpop: required }
                schedule: { repeats: daily, start_time: "02:00" }
                event_hook: { secrets: [a-hook-secret-of-at-least-32-bytes] }
                sink: { type: ndjson, path: out.ndjson }
            """)
        guard case .oauth(let app) = configuration.connectors[0].okta.credentials,
            case .clientSecret(let read) = app.authentication
        else {
            Issue.record("a client_secret_basic app expected")
            return
        }
        #expect(read.reveal() == "the-client-secret")
        #expect(app.dpop == .required)
        #expect(app.privateKey == nil && app.keyId == nil)
        #expect(configuration.connectors[0].okta.credentials.kind.contains("client_secret_basic, DPoP required"))
    }
}
