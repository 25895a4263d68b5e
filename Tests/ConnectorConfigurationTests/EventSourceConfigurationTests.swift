import ConnectorConfiguration
import ConnectorDomain
import Foundation
import Testing

@Suite("Configuration: event sources (SPEC §17)")
struct EventSourceConfigurationTests {
    let pollingOnly = """
          - name: Behind the firewall
            okta:
              url: https://acme.okta.com
              api_token: ${OKTA_API_TOKEN}
            schedule: { repeats: daily, start_time: "02:00" }
            event_source: system_log
            system_log: { interval: 30s, overlap: 2m, hook_grace: 20s }
            sink: { type: ndjson, path: out/users.ndjson }
        """

    @Test func hooksAreTheDefaultWithTheDocumentedPollingSettings() throws {
        let connector = try #require(try load(config(validConnector)).connectors.first)
        #expect(connector.eventSource == .hooks)
        #expect(connector.systemLog == SystemLogSettings(interval: 10, overlap: 60, hookGrace: 15))
    }

    @Test func aPollingConnectorNeedsNoEventHookSection() throws {
        let connector = try #require(try load(config(pollingOnly)).connectors.first)
        #expect(connector.eventSource == .systemLog)
        #expect(!connector.eventSource.takesHooks)
        #expect(connector.eventSource.polls)
        #expect(connector.systemLog == SystemLogSettings(interval: 30, overlap: 120, hookGrace: 20))
        #expect(connector.eventHook.secrets.isEmpty)
        // Two polling connectors share no hook path, so their default paths cannot clash.
        let second = pollingOnly.replacingOccurrences(of: "Behind the firewall", with: "Behind the firewall 2")
        #expect(try load(config(pollingOnly, second)).connectors.count == 2)
    }

    @Test func bothStillNeedsTheEventHook() throws {
        let both = validConnector + "\n    event_source: both"
        #expect(try load(config(both)).connectors.first?.eventSource == .both)
        let withoutHook = pollingOnly.replacingOccurrences(of: "event_source: system_log", with: "event_source: both")
        let problems = errors(config(withoutHook))
        #expect(problems.contains { $0.keyPath == "connectors[0].event_hook" && $0.kind == .missingKey })
    }

    @Test func badValuesNameTheKeyAndTheValue() throws {
        let wrong = errors(config(validConnector + "\n    event_source: webhooks"))
        let error = try #require(wrong.first)
        #expect(error.keyPath == "connectors[0].event_source")
        #expect(error.description.contains("\"webhooks\""))
        #expect(error.description.contains("hooks, system_log, both"))
        let fast = errors(config(pollingOnly.replacingOccurrences(of: "interval: 30s", with: "interval: 0.5")))
        #expect(fast.contains { $0.keyPath == "connectors[0].system_log.interval" })
        let typo = errors(config(pollingOnly.replacingOccurrences(of: "overlap:", with: "overlapp:")))
        #expect(typo.contains { $0.keyPath == "connectors[0].system_log.overlapp" })
        // Polling settings on a connector that does not poll are a mistake worth naming.
        let unused = errors(config(validConnector + "\n    system_log: { interval: 30s }"))
        #expect(unused.contains { $0.keyPath == "connectors[0].system_log" })
    }

    @Test func changingTheEventSourceRestartsTheConnectorOnReload() throws {
        let hooks = try #require(try load(config(validConnector)).connectors.first)
        let both = try #require(try load(config(validConnector + "\n    event_source: both")).connectors.first)
        #expect(hooks.fingerprint != both.fingerprint)
    }

    @Test func pollingWithExplicitOAuthScopesNeedsTheLogsScope() throws {
        func polling(scopes: String?) -> String {
            pollingOnly.replacingOccurrences(
                of: "api_token: ${OKTA_API_TOKEN}",
                with: "oauth: { client_id: 0oa1, private_key: a-key, key_id: k1"
                    + (scopes.map { ", scopes: [\($0)]" } ?? "") + " }")
        }
        let missing = errors(config(polling(scopes: "okta.users.read, okta.apps.read")))
        let error = try #require(missing.first { $0.keyPath == "connectors[0].okta.oauth.scopes" })
        #expect(error.description.contains("okta.logs.read"))
        #expect(try load(config(polling(scopes: "okta.users.read, okta.logs.read"))).connectors.count == 1)
        // Without explicit scopes a polling connector asks for the logs scope by itself.
        let connector = try #require(try load(config(polling(scopes: nil))).connectors.first)
        guard case .oauth(let app) = connector.okta.credentials else {
            Issue.record("expected OAuth credentials")
            return
        }
        #expect(app.scopes.contains("okta.logs.read"))
    }
}
