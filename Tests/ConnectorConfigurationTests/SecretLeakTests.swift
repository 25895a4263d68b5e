import ConnectorConfiguration
import Foundation
import Testing

/// Configuration errors name the key and the line, never a secret (SPEC §12).
@Suite struct SecretLeakTests {
    static let secret = "s3cr3t-Value-0123456789"

    func errors(_ yaml: String, environment: [String: String] = [:]) -> String {
        do {
            _ = try ConfigurationLoader.parse(
                yaml: yaml, file: "/etc/okta-connector/config.yaml", environment: environment)
            return ""
        } catch {
            return error.errors.map(\.description).joined(separator: "\n")
        }
    }

    static let base = """
        server: { listen: "127.0.0.1:8443", insecure_plain_http: true }
        connectors:
          - name: Org
            okta: { url: OKTA_URL, api_token: "${TOKEN}" }
            schedule: { repeats: daily, start_time: "02:00" }
            event_hook: { secrets: ["${HOOK}"] }
            sink: SINK
        """

    @Test func aSecretFromTheEnvironmentInTheWrongKeyIsNotEchoed() {
        let yaml = Self.base.replacingOccurrences(of: "OKTA_URL", with: "\"${TOKEN}\"")
            .replacingOccurrences(
                of: "SINK",
                with:
                    "{ type: http, endpoint: \"http://x/${HOOK}\", token_url: \"${TOKEN}\", client_id: a, client_secret: b }"
            )
        let text = errors(yaml, environment: ["TOKEN": Self.secret, "HOOK": "hook-" + Self.secret])
        #expect(text.contains("connectors[0].okta.url"), "\(text)")
        #expect(text.contains("connectors[0].sink.endpoint"), "\(text)")
        #expect(!text.contains(Self.secret), "\(text)")
    }

    @Test func aSyntaxErrorDoesNotQuoteTheSourceLine() {
        let yaml = Self.base.replacingOccurrences(of: "OKTA_URL", with: "https://acme.okta.com")
            .replacingOccurrences(of: "\"${TOKEN}\"", with: "\"\(Self.secret)")
            .replacingOccurrences(of: "SINK", with: "{ type: ndjson, path: out.ndjson }")
        let text = errors(yaml)
        #expect(!text.isEmpty)
        #expect(!text.contains(Self.secret), "\(text)")
    }

    @Test func plainHTTPOutgoingURLsNeedTheTestFlag() {
        let sink =
            "{ type: http, endpoint: \"http://neurons.example/ingest\", token_url: \"https://login.example/token\", client_id: a, client_secret: b ALLOW }"
        let yaml = Self.base.replacingOccurrences(of: "OKTA_URL", with: "https://acme.okta.com")
            .replacingOccurrences(of: "\"${TOKEN}\"", with: "t").replacingOccurrences(
                of: "\"${HOOK}\"", with: "h-with-at-least-32-bytes-0123456789")
        let refused = errors(
            yaml.replacingOccurrences(of: "SINK", with: sink.replacingOccurrences(of: " ALLOW", with: "")))
        #expect(refused.contains("connectors[0].sink.endpoint"), "\(refused)")
        #expect(refused.contains("must use https"), "\(refused)")
        let allowed = errors(
            yaml.replacingOccurrences(
                of: "SINK", with: sink.replacingOccurrences(of: " ALLOW", with: ", allow_insecure_http: true")))
        #expect(allowed.isEmpty, "\(allowed)")
    }
}
