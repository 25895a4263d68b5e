import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorTestSupport
import Foundation
import JWTKit
import OktaSimulator
import Testing

@Suite("check-config --online", .timeLimit(.minutes(2)))
struct OnlineCheckTests {
    @Test func eachMissingPermissionIsNamed() async throws {
        let key = ES256PrivateKey()
        try await withConnector(
            users: 10,
            configure: { options in
                options.serviceApps = [
                    SimulatedServiceApp(
                        clientId: "0oaCheck", publicKeyPEM: key.publicKey.pemRepresentation,
                        grantedScopes: ["okta.users.read", "okta.apps.read", "okta.devices.read"])
                ]
            }
        ) { harness in
            var good = harness.settings
            good.okta.credentials = .oauth(
                OAuthServiceApp(
                    clientId: "0oaCheck", privateKey: Secret(key.pemRepresentation), keyId: nil,
                    scopes: ["okta.users.read", "okta.apps.read", "okta.devices.read"]))
            let passed = await OnlineCheck.check(
                good, httpClient: harness.httpClient, clock: SystemWallClock(), logger: quietLogger)
            #expect(passed.allSatisfy { $0.problem == nil }, "\(passed.map(\.problem))")
            #expect(
                passed[0].item.hasSuffix("; DPoP-bound token"), "the simulator's apps require DPoP: \(passed[0].item)")
            #expect(passed.count == 5)
            #expect(passed[2].item.contains("not gathered") && passed[2].item.contains("okta.groups.read"))

            var partial = good
            partial.okta.credentials = .oauth(
                OAuthServiceApp(
                    clientId: "0oaCheck", privateKey: Secret(key.pemRepresentation), keyId: nil,
                    scopes: ["okta.users.read"]))
            let results = await OnlineCheck.check(
                partial, httpClient: harness.httpClient, clock: SystemWallClock(), logger: quietLogger)
            #expect(results[0].problem == nil)
            #expect(results[1].problem?.contains("okta.apps.read") == true)
            #expect(results[3].problem?.contains("okta.devices.read") == true)

            // A user scope: each group must resolve to exactly one; it needs okta.groups.read.
            var scoped = harness.settings
            scoped.scopeGroups = ["Sales, EMEA", "No Such Group"]
            let unknown = await OnlineCheck.check(
                scoped, httpClient: harness.httpClient, clock: SystemWallClock(), logger: quietLogger)
            let scopeResult = try #require(unknown.first { $0.item.hasPrefix("user scope") })
            #expect(scopeResult.problem?.contains(#"no Okta group has the name or id "No Such Group""#) == true)
            scoped.scopeGroups = ["Sales, EMEA"]
            let resolved = await OnlineCheck.check(
                scoped, httpClient: harness.httpClient, clock: SystemWallClock(), logger: quietLogger)
            let members = try #require(resolved.first { $0.item.hasPrefix("user scope") })
            #expect(members.problem == nil)
            #expect(
                members.item.contains(#""Sales, EMEA" (00g"#) && members.item.hasSuffix("members"), "\(members.item)")

            var wrong = harness.settings
            wrong.okta.credentials = .apiToken(Secret("not-the-token"))
            let denied = await OnlineCheck.check(
                wrong, httpClient: harness.httpClient, clock: SystemWallClock(), logger: quietLogger)
            #expect(denied[0].problem?.contains("401") == true)
        }
    }

    @Test func aPollingConnectorIsCheckedForTheSystemLogScope() async throws {
        let key = ES256PrivateKey()
        let readScopes = ["okta.users.read", "okta.apps.read", "okta.devices.read"]
        try await withConnector(
            users: 10,
            configure: { options in
                options.serviceApps = [
                    SimulatedServiceApp(
                        clientId: "0oaPoll", publicKeyPEM: key.publicKey.pemRepresentation,
                        grantedScopes: Set(readScopes + ["okta.logs.read"]))
                ]
            }
        ) { harness in
            var polling = harness.settings
            polling.eventSource = .systemLog
            polling.okta.credentials = .oauth(
                OAuthServiceApp(
                    clientId: "0oaPoll", privateKey: Secret(key.pemRepresentation), keyId: nil,
                    scopes: readScopes + ["okta.logs.read"]))
            let passed = await OnlineCheck.check(
                polling, httpClient: harness.httpClient, clock: SystemWallClock(), logger: quietLogger)
            #expect(passed.map(\.item).contains("Okta System Log (okta.logs.read)"))
            #expect(passed.allSatisfy { $0.problem == nil }, "\(passed.map(\.problem))")

            var unscoped = polling
            unscoped.okta.credentials = .oauth(
                OAuthServiceApp(
                    clientId: "0oaPoll", privateKey: Secret(key.pemRepresentation), keyId: nil, scopes: readScopes))
            let results = await OnlineCheck.check(
                unscoped, httpClient: harness.httpClient, clock: SystemWallClock(), logger: quietLogger)
            let log = try #require(results.first { $0.item.contains("System Log") })
            #expect(log.problem?.contains("okta.logs.read") == true, "\(log.problem ?? "no problem")")

            // A connector on hooks alone is not asked for the scope.
            var hooks = unscoped
            hooks.eventSource = .hooks
            let plain = await OnlineCheck.check(
                hooks, httpClient: harness.httpClient, clock: SystemWallClock(), logger: quietLogger)
            #expect(!plain.contains { $0.item.contains("System Log") })
        }
    }
}
