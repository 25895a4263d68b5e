import ConnectorDomain
import ConnectorTestSupport
import Foundation
import NIOHTTP1
import OktaSimulator
import Testing

/// System Log events of one type, read by a polling request as a client of `GET /api/v1/logs` would.
func systemLogEvents(_ simulator: OktaSimulator, type: String) async throws -> [JSONValue] {
    let filter = URLFormEncoding.encode("eventType eq \"\(type)\"")
    let response = try await request("\(simulator.baseURL)/api/v1/logs?filter=\(filter)&limit=1000")
    #expect(response.status == 200, "\(response.text)")
    guard case .array(let events) = response.json else { return [] }
    return events
}

/// Signs users in one by one through the org's mutations (one event each), from an index on.
func signIn(_ simulator: OktaSimulator, users range: Range<Int>) throws {
    for index in range {
        let user = try #require(simulator.org.user(at: index % simulator.org.userIndexCount))
        try simulator.org.recordLogin(userId: user.id)
    }
}

@Suite("Simulator: the org's daily cap of event hook events", .serialized, .timeLimit(.minutes(3)))
struct HookDailyCapTests {
    static let warning = "system.org.rate_limit.warning"
    static let violation = "system.org.rate_limit.violation"

    func options(cap: Int, trusting endpoints: [HookEndpoint], clock: ManualClock? = nil)
        -> (inout SimulatorOptions) -> Void
    {
        { options in
            options.hookDailyCap = cap
            options.hookTrustRootsPEM = endpoints.map(\.certificate.certificatePEM)
            if let clock { options.baseClock = clock }
        }
    }

    @Test func aDeliveryThatStraddlesTheCapIsCutAndWhatIsPastItDropped() async throws {
        let endpoint = try await HookEndpoint()
        defer { endpoint.stop() }
        try await withSimulator(users: 40, configure: options(cap: 10, trusting: [endpoint])) { simulator in
            _ = try await registerHook(simulator, endpoint: endpoint)
            try signIn(simulator, users: 0..<7)
            await simulator.waitForDeliveries()
            #expect(endpoint.deliveredEvents.count == 7)

            // Five more in one delivery: three reach the cap and go, two are dropped.
            try signIn(simulator, users: 7..<12)
            await simulator.waitForDeliveries()
            #expect(endpoint.deliveries.count == 2)
            #expect(endpoint.deliveredEvents.count == 10)
            let stats = simulator.hookStats
            #expect(stats.cap == 10)
            #expect(stats.eventsInWindow == 10)
            #expect(stats.eventsDelivered == 10)
            #expect(stats.eventsOverCap == 2)
            #expect(stats.eventsOverCapByType == ["user.session.start": 2])
            #expect(stats.windowStart != nil)

            // Past the cap nothing is sent: the deliverer is idle with no new delivery.
            let user = try #require(simulator.org.allUsers().first { $0.status == .active })
            try simulator.org.updateProfile(id: user.id, changes: ["title": "Past The Cap"])
            try signIn(simulator, users: 12..<15)
            await simulator.waitForDeliveries()
            #expect(endpoint.deliveries.count == 2)
            #expect(simulator.hookStats.eventsOverCap == 6)
            #expect(simulator.hookStats.eventsOverCapByType["user.account.update_profile"] == 1)
            // The System Log still has every event: only hook delivery is capped.
            #expect(try await systemLogEvents(simulator, type: "user.session.start").count == 15)
        }
    }

    @Test func everyHookOfTheOrgCountsAgainstTheSameCap() async throws {
        let endpoint = try await HookEndpoint()
        defer { endpoint.stop() }
        try await withSimulator(users: 40, configure: options(cap: 10, trusting: [endpoint])) { simulator in
            // Two hooks of the org (two integrations, say), each getting every event.
            _ = try await registerHook(simulator, endpoint: endpoint)
            _ = try await registerHook(simulator, endpoint: endpoint)
            try signIn(simulator, users: 0..<4)
            await simulator.waitForDeliveries()
            #expect(endpoint.deliveredEvents.count == 8)
            #expect(simulator.hookStats.eventsInWindow == 8)

            // Four more for each hook: two fit under the cap, for whichever hook is served first.
            try signIn(simulator, users: 4..<8)
            await simulator.waitForDeliveries()
            #expect(endpoint.deliveredEvents.count == 10)
            #expect(simulator.hookStats.eventsInWindow == 10)
            #expect(simulator.hookStats.eventsOverCap == 6)
        }
    }

    @Test func theWarningAt70PercentAndTheViolationAtTheCapAreLoggedOnceAndNeverDelivered() async throws {
        let endpoint = try await HookEndpoint()
        defer { endpoint.stop() }
        try await withSimulator(users: 40, configure: options(cap: 10, trusting: [endpoint])) { simulator in
            // Even a hook subscribed to the warnings does not get them: they are the System Log's.
            _ = try await registerHook(
                simulator, endpoint: endpoint,
                types: OktaLogEvent.subscribedEventTypes + [Self.warning, Self.violation])
            try signIn(simulator, users: 0..<6)
            await simulator.waitForDeliveries()
            #expect(try await systemLogEvents(simulator, type: Self.warning).isEmpty, "60 % is below the warning")

            try signIn(simulator, users: 6..<7)
            await simulator.waitForDeliveries()
            let warnings = try await systemLogEvents(simulator, type: Self.warning)
            #expect(warnings.count == 1)
            let warning = try #require(warnings.first)
            #expect(warning["displayMessage"]?.stringValue?.contains("70%") == true, "\(warning)")
            #expect(warning["displayMessage"]?.stringValue?.contains("Event hook daily limit") == true)
            #expect(warning["severity"] == "WARN")
            #expect(warning["debugContext"]?["debugData"]?["limit"] == "10")
            #expect(warning["debugContext"]?["debugData"]?["count"] == "7")
            #expect(warning["actor"]?["type"] == "SystemPrincipal")
            #expect(try await systemLogEvents(simulator, type: Self.violation).isEmpty)

            try signIn(simulator, users: 7..<9)
            await simulator.waitForDeliveries()
            #expect(try await systemLogEvents(simulator, type: Self.violation).isEmpty, "9 of 10 is not the cap")
            try signIn(simulator, users: 9..<13)
            await simulator.waitForDeliveries()
            try signIn(simulator, users: 13..<20)
            await simulator.waitForDeliveries()
            let violations = try await systemLogEvents(simulator, type: Self.violation)
            #expect(violations.count == 1)
            #expect(violations.first?["debugContext"]?["debugData"]?["count"] == "10")
            #expect(violations.first?["debugContext"]?["debugData"]?["limit"] == "10")
            #expect(try await systemLogEvents(simulator, type: Self.warning).count == 1, "once per window")

            let delivered = Set(endpoint.deliveredEvents.compactMap { $0["eventType"]?.stringValue })
            #expect(delivered == ["user.session.start"])
        }
    }

    @Test func aNewWindowOpensWithTheFirstEventAfter24HoursOfTheSimulatorsClock() async throws {
        let endpoint = try await HookEndpoint()
        defer { endpoint.stop() }
        let opened = Date(timeIntervalSince1970: 1_790_000_000)
        let clock = ManualClock(now: opened)
        try await withSimulator(users: 40, configure: options(cap: 5, trusting: [endpoint], clock: clock)) {
            simulator in
            _ = try await registerHook(simulator, endpoint: endpoint)
            try signIn(simulator, users: 0..<7)
            await simulator.waitForDeliveries()
            #expect(endpoint.deliveredEvents.count == 5)
            #expect(simulator.hookStats.windowStart == Timestamp(opened))

            // Still the same window a second before its 24 hours are up.
            clock.advance(by: 86_399)
            try signIn(simulator, users: 7..<8)
            await simulator.waitForDeliveries()
            #expect(endpoint.deliveredEvents.count == 5)
            #expect(simulator.hookStats.eventsOverCap == 3)

            // The first event after them opens the next window, with its own warning.
            clock.advance(by: 3600)
            try signIn(simulator, users: 8..<11)
            await simulator.waitForDeliveries()
            #expect(endpoint.deliveredEvents.count == 8)
            let stats = simulator.hookStats
            #expect(stats.windowStart == Timestamp(opened.addingTimeInterval(86_399 + 3600)))
            #expect(stats.eventsInWindow == 3)
            #expect(stats.eventsOverCap == 3)
            #expect(try await systemLogEvents(simulator, type: Self.warning).count == 1, "3 of 5 is below 70 %")
            try signIn(simulator, users: 11..<12)
            await simulator.waitForDeliveries()
            #expect(try await systemLogEvents(simulator, type: Self.warning).count == 2, "one per window")
            #expect(try await systemLogEvents(simulator, type: Self.violation).count == 1)
        }
    }

    @Test func theCapIsSetThroughTheControlAPI() async throws {
        try await withSimulator(users: 5) { simulator in
            #expect(simulator.hookStats.cap == 400_000, "Okta's cap by default")
            let set = try await request(
                "\(simulator.baseURL)/sim/v1/hooks/daily-cap", method: .PUT, body: #"{"cap": 1234}"#)
            #expect(set.status == 200, "\(set.text)")
            #expect(set.json["cap"] == .integer(1234))
            #expect(simulator.hookDailyCap == 1234)
            let read = try await request("\(simulator.baseURL)/sim/v1/hooks/daily-cap")
            #expect(read.json["cap"] == .integer(1234))
            let stats = try await request("\(simulator.baseURL)/sim/v1/hooks/stats")
            #expect(stats.json["cap"] == .integer(1234))
            #expect(stats.json["eventsOverCap"] == .integer(0))
            let refused = try await request(
                "\(simulator.baseURL)/sim/v1/hooks/daily-cap", method: .PUT, body: #"{"cap": -1}"#)
            #expect(refused.status == 400)
            simulator.hookDailyCap = 99
            #expect(simulator.hookStats.cap == 99)
        }
    }
}
