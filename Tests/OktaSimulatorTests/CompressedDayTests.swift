import ConnectorDomain
import ConnectorTestSupport
import Foundation
import NIOHTTP1
import OktaSimulator
import Testing

@Suite("Simulator: a compressed day of sign-ins", .serialized, .timeLimit(.minutes(3)))
struct CompressedDayTests {
    @Test func aBurstOfSignInsEmitsTheCountAskedSpreadOverTheActiveUsers() async throws {
        let endpoint = try await HookEndpoint()
        defer { endpoint.stop() }
        try await withSimulator(
            users: 60, configure: { $0.hookTrustRootsPEM = [endpoint.certificate.certificatePEM] }
        ) { simulator in
            _ = try await registerHook(simulator, endpoint: endpoint)
            let active = simulator.org.allUsers().filter { $0.status == .active }
            let response = try await request(
                "\(simulator.baseURL)/sim/v1/sign-ins", method: .POST, body: #"{"count": 2500}"#)
            #expect(response.status == 200, "\(response.text)")
            #expect(response.json["emitted"] == .integer(2500))
            #expect(simulator.systemLogCount == 2500)
            await simulator.waitForDeliveries(timeout: 60)
            let delivered = endpoint.deliveredEvents
            #expect(delivered.count == 2500)
            #expect(simulator.hookStats.eventsDelivered == 2500)

            // Sessions and the apps they open, as real orgs log them, by the active users only.
            let types = Dictionary(grouping: delivered, by: { $0["eventType"]?.stringValue ?? "" }).mapValues(\.count)
            #expect(Set(types.keys) == ["user.session.start", "user.authentication.sso"])
            let sessions = types["user.session.start"] ?? 0
            #expect(sessions > 2500 / 3 && sessions < 2500 / 2, "a session opens one or two apps: \(types)")
            let actors = Set(delivered.compactMap { $0["actor"]?["id"]?.stringValue })
            #expect(actors == Set(active.map(\.id)), "spread over every active user")
            // A sign-on names the app it opens (for users who have one).
            let withApps = Set(active.filter { !$0.assignedApps.isEmpty }.map(\.id))
            for event in delivered where event["eventType"] == "user.authentication.sso" {
                guard let actor = event["actor"]?["id"]?.stringValue, withApps.contains(actor) else { continue }
                guard case .array(let targets)? = event["target"] else {
                    Issue.record("no target: \(event)")
                    break
                }
                #expect(targets.first?["type"] == "AppInstance")
            }
            let signedIn = try #require(simulator.org.user(idOrLogin: active[0].id)?.lastLogin)
            #expect(abs(signedIn.date.timeIntervalSinceNow) < 60, "lastLogin moved")

            let none = try await request(
                "\(simulator.baseURL)/sim/v1/sign-ins", method: .POST, body: #"{"count": 0}"#)
            #expect(none.json["emitted"] == .integer(0))
            let refused = try await request(
                "\(simulator.baseURL)/sim/v1/sign-ins", method: .POST, body: #"{"count": -5}"#)
            #expect(refused.status == 400)
        }
    }

    @Test func aLargeBurstIsDeliveredInChunksWithinTheCapAndABoundedLog() async throws {
        let endpoint = try await HookEndpoint()
        defer { endpoint.stop() }
        try await withSimulator(
            users: 200,
            configure: {
                $0.hookTrustRootsPEM = [endpoint.certificate.certificatePEM]
                $0.hookDailyCap = 3000
                $0.systemLogCapacity = 2000
            }
        ) { simulator in
            _ = try await registerHook(simulator, endpoint: endpoint)
            let emitted = await simulator.recordSignIns(12_000)
            #expect(emitted == 12_000)
            #expect(simulator.systemLogCount <= 2200, "the System Log stays within its capacity")
            await simulator.waitForDeliveries(timeout: 90)
            let stats = simulator.hookStats
            #expect(stats.eventsDelivered == 3000)
            #expect(stats.eventsOverCap == 9000)
            #expect(endpoint.deliveredEvents.count == 3000)
            let perDelivery = endpoint.deliveries.map { delivery -> Int in
                let envelope = (try? JSONCoding.decoder().decode(JSONValue.self, from: Data(delivery.body))) ?? .null
                guard case .array(let events)? = envelope["data"]?["events"] else { return 0 }
                return events.count
            }
            #expect(perDelivery.allSatisfy { (1...50).contains($0) }, "at most 50 events a delivery")
            #expect(try await systemLogEvents(simulator, type: "system.org.rate_limit.violation").count == 1)
        }
    }
}
