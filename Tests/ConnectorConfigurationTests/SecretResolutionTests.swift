import ConnectorConfiguration
import ConnectorDomain
import Foundation
import Testing

/// Commands that only read the store load the configuration without its secrets (SPEC §3, §12):
/// an on-call person reading `status` is not handed the Okta token.
@Suite("Configuration: secrets only where needed")
struct SecretResolutionTests {
    let withFiles = """
        server:
          insecure_plain_http: true
          admin: { listen: 127.0.0.1:9090, token_file: /run/secrets/admin-token }
        connectors:
          - name: Okta production
            okta:
              url: https://acme.okta.com
              api_token_file: /run/secrets/okta-token
            schedule: { repeats: daily, start_time: "02:00" }
            event_hook:
              secrets_file: /run/secrets/hook-secrets
            sink:
              type: http
              endpoint: https://tenant.example.com/ingest
              token_url: https://login.example.com/token
              client_id: connector
              client_secret: ${NEURONS_CLIENT_SECRET}
        """

    func unreadable(_ path: String) throws -> String {
        throw CocoaError(.fileReadNoPermission)
    }

    @Test func unsetVariablesAndUnreadableSecretFilesAreNoErrorWhenSecretsAreNotResolved() throws {
        let configuration = try ConfigurationLoader.parse(
            yaml: config(validConnector), file: "/etc/okta-connector/config.yaml", environment: [:],
            secrets: .unresolved)
        #expect(configuration.connectors.first?.slug == "okta-production")
        let files = try ConfigurationLoader.parse(
            yaml: withFiles, file: "/etc/okta-connector/config.yaml", environment: [:], fileReader: unreadable,
            secrets: .unresolved)
        #expect(files.connectors.first?.eventHook.path == "/hooks/okta/okta-production")
        #expect(files.connectors.first?.sink.tokenURL?.host == "login.example.com")
    }

    @Test func commandsThatNeedSecretsKeepEveryError() {
        let missing = errors(config(validConnector), env: [:])
        #expect(missing.contains { $0.kind == .unsetEnvironmentVariable(name: "OKTA_API_TOKEN") })
        #expect(missing.contains { $0.kind == .unsetEnvironmentVariable(name: "OKTA_HOOK_SECRET") })
        do {
            _ = try ConfigurationLoader.parse(
                yaml: withFiles, file: "/etc/okta-connector/config.yaml", environment: [:], fileReader: unreadable)
            Issue.record("accepted without its secret files")
        } catch {
            let paths = error.errors.map(\.keyPath)
            #expect(paths.contains { $0.hasSuffix("okta.api_token_file") }, "\(paths)")
            #expect(paths.contains { $0.hasSuffix("event_hook.secrets_file") }, "\(paths)")
            #expect(paths.contains { $0.hasSuffix("admin.token_file") }, "\(paths)")
        }
    }

    @Test func theShapeOfSecretsIsStillChecked() {
        let both = config(
            validConnector.replacingOccurrences(
                of: "api_token: ${OKTA_API_TOKEN}", with: "api_token: x\n      api_token_file: /t"))
        do {
            _ = try ConfigurationLoader.parse(
                yaml: both, file: "/etc/okta-connector/config.yaml", environment: [:], secrets: .unresolved)
            Issue.record("both api_token and api_token_file were accepted")
        } catch {
            #expect(error.errors.contains { $0.keyPath.hasSuffix("okta.api_token") })
        }
    }
}
