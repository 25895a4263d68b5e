import ConnectorDomain
import ConnectorTestSupport
import Foundation
import NIOHTTP1
import OktaSimulator
import Synchronization
import Testing

@Suite("Simulator: event hooks", .serialized, .timeLimit(.minutes(3)))
struct EventHookTests {
    func simulatorTrusting(_ endpoint: HookEndpoint) -> (inout SimulatorOptions) -> Void {
        { $0.hookTrustRootsPEM = [endpoint.certificate.certificatePEM] }
    }

    @Test func verificationAndDeliveryReachARealHTTPSEndpointWithTheHeaders() async throws {
        let endpoint = try await HookEndpoint()
        defer { endpoint.stop() }
        try await withSimulator(users: 20, configure: simulatorTrusting(endpoint)) { simulator in
            _ = try await registerHook(simulator, endpoint: endpoint)
            let verification = try #require(endpoint.requests.first)
            #expect(verification.method == "GET")
            #expect(verification.headers["x-okta-verification-challenge"]?.isEmpty == false)

            let user = try #require(simulator.org.user(at: 1))
            try simulator.org.recordLogin(userId: user.id)
            await simulator.waitForDeliveries()
            let delivery = try #require(endpoint.deliveries.first)
            #expect(delivery.headers["authorization"] == "hook-secret")
            #expect(delivery.headers["x-custom"] == "custom-value")
            #expect(delivery.headers["content-type"] == "application/json")
            #expect(delivery.headers["accept"] == "application/json")
            let envelope = try JSONCoding.decoder().decode(EventHookDelivery.self, from: Data(delivery.body))
            #expect(envelope.eventType == "com.okta.event_hook")
            #expect(envelope.events.map(\.eventType) == ["user.session.start"])
            #expect(envelope.events.first?.subjectUserId == user.id)
        }
    }

    @Test func eventsCloseInTimeAreBatchedIntoOneDelivery() async throws {
        let endpoint = try await HookEndpoint()
        defer { endpoint.stop() }
        try await withSimulator(users: 20, configure: simulatorTrusting(endpoint)) { simulator in
            _ = try await registerHook(simulator, endpoint: endpoint)
            for index in 0..<5 { try simulator.org.recordLogin(userId: simulator.org.user(at: index)!.id) }
            await simulator.waitForDeliveries()
            #expect(endpoint.deliveries.count == 1)
            #expect(endpoint.deliveredEvents.count == 5)
        }
    }

    @Test func aFailedDeliveryIsRetriedOnceAnd4xxIsNotRetried() async throws {
        let endpoint = try await HookEndpoint()
        defer { endpoint.stop() }
        try await withSimulator(users: 20, configure: simulatorTrusting(endpoint)) { simulator in
            _ = try await registerHook(simulator, endpoint: endpoint)
            let user = try #require(simulator.org.user(at: 2))
            // 500 then 200: delivered on the retry.
            endpoint.answer([500])
            try simulator.org.recordLogin(userId: user.id)
            await simulator.waitForDeliveries()
            #expect(endpoint.deliveries.count == 2)
            #expect(simulator.hookStats.retries == 1)
            #expect(simulator.hookStats.delivered == 1)
            // 503 twice: given up after the one retry.
            endpoint.answer([503, 503])
            try simulator.org.recordLogin(userId: user.id)
            await simulator.waitForDeliveries()
            #expect(endpoint.deliveries.count == 4)
            #expect(simulator.hookStats.failed == 1)
            // 400: not retried.
            endpoint.answer([400])
            try simulator.org.recordLogin(userId: user.id)
            await simulator.waitForDeliveries()
            #expect(endpoint.deliveries.count == 5)
            #expect(simulator.hookStats.failed == 2)
        }
    }

    @Test func onlyActiveVerifiedHooksSubscribedToTheTypeReceiveEvents() async throws {
        let endpoint = try await HookEndpoint()
        defer { endpoint.stop() }
        try await withSimulator(users: 20, configure: simulatorTrusting(endpoint)) { simulator in
            let id = try await registerHook(simulator, endpoint: endpoint, types: ["user.lifecycle.suspend"])
            let user = try #require(simulator.org.allUsers().first { $0.status == .active })
            try simulator.org.recordLogin(userId: user.id)  // not subscribed
            try simulator.org.apply(.expirePassword, to: user.id)  // not eligible, not subscribed
            await simulator.waitForDeliveries()
            #expect(endpoint.deliveries.isEmpty)
            _ = try await request("\(simulator.baseURL)/api/v1/eventHooks/\(id)/lifecycle/deactivate", method: .POST)
            try simulator.org.apply(.resetPassword, to: user.id)
            try simulator.org.apply(.suspend, to: user.id)
            await simulator.waitForDeliveries()
            #expect(endpoint.deliveries.isEmpty, "inactive hooks receive nothing")
        }
    }

    @Test func verificationFailsWhenTheEndpointDoesNotEchoTheChallenge() async throws {
        try await withSimulator(users: 5) { simulator in
            let body = """
                {"name":"unreachable","events":{"type":"EVENT_TYPE","items":["user.session.start"]},
                 "channel":{"type":"HTTP","version":"1.0.0","config":{"uri":"https://127.0.0.1:9/hooks",
                 "authScheme":{"type":"HEADER","key":"Authorization","value":"x"}}}}
                """
            let created = try await request("\(simulator.baseURL)/api/v1/eventHooks", method: .POST, body: body)
            let id = try #require(created.json["id"]?.stringValue)
            let verify = try await request(
                "\(simulator.baseURL)/api/v1/eventHooks/\(id)/lifecycle/verify", method: .POST)
            #expect(verify.status == 400)
            let listed = try await request("\(simulator.baseURL)/api/v1/eventHooks/\(id)")
            #expect(listed.json["verificationStatus"] == "UNVERIFIED")
        }
    }

    @Test func misbehaviourDropsDuplicatesAndReordersDeliveries() async throws {
        let endpoint = try await HookEndpoint()
        defer { endpoint.stop() }
        try await withSimulator(users: 60, configure: simulatorTrusting(endpoint)) { simulator in
            _ = try await registerHook(simulator, endpoint: endpoint)
            simulator.hookBehaviour = HookBehaviour(dropRate: 0.3, duplicateRate: 0.3, seed: 3)
            for index in 0..<30 {
                try simulator.org.recordLogin(userId: simulator.org.user(at: index)!.id)
                await simulator.waitForDeliveries()
            }
            let stats = simulator.hookStats
            #expect(stats.dropped > 0)
            #expect(stats.duplicated > 0)
            let delivered = endpoint.deliveredEvents.compactMap { $0["uuid"]?.stringValue }
            #expect(Set(delivered).count == 30 - stats.droppedEventIds.count)
            // Each duplicate arrives twice; a first attempt that timed out on a loaded machine may
            // have arrived too before its retry (Okta's at-least-once), so retries may add some.
            #expect(delivered.count >= Set(delivered).count + stats.duplicated)
            #expect(delivered.count <= Set(delivered).count + stats.duplicated + stats.retries)
            #expect(Set(delivered).isDisjoint(with: stats.droppedEventIds))

            simulator.hookBehaviour = HookBehaviour(reorder: true)
            let before = endpoint.deliveries.count
            let first = simulator.org.user(at: 40)!.id
            let second = simulator.org.user(at: 41)!.id
            try simulator.org.recordLogin(userId: first)
            await simulator.waitForDeliveries(timeout: 1)
            try simulator.org.recordLogin(userId: second)
            await simulator.waitForDeliveries()
            let order = endpoint.deliveredEvents.suffix(2).compactMap { $0["actor"]?["id"]?.stringValue }
            #expect(endpoint.deliveries.count == before + 2)
            #expect(order == [second, first], "the later batch arrives first")
        }
    }
}
