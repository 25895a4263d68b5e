import ConnectorDomain
import ConnectorTestSupport
import Foundation
import NIOHTTP1
import OktaSimulator
import Testing

@Suite("Simulator: Okta's clock, skewed from this machine's", .timeLimit(.minutes(3)))
struct ClockSkewTests {
    /// A `Date` header as an instant.
    func httpDate(_ text: String?) -> Date? {
        guard let text else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }

    /// Seconds an Okta timestamp is from this machine's clock now.
    func offset(_ value: JSONValue?) -> Double? {
        value?.stringValue.flatMap(Timestamp.parse).map { $0.date.timeIntervalSinceNow }
    }

    @Test func aSkewedClockShiftsDateHeadersAndEveryTimestampTheSimulatorReports() async throws {
        let endpoint = try await HookEndpoint()
        defer { endpoint.stop() }
        // Okta's clock two minutes behind this machine's.
        try await withSimulator(
            users: 20,
            configure: {
                $0.clockSkew = -120
                $0.hookTrustRootsPEM = [endpoint.certificate.certificatePEM]
            }
        ) { simulator in
            _ = try await registerHook(simulator, endpoint: endpoint)
            let api = try await request("\(simulator.baseURL)/api/v1/users?limit=1")
            let apiDate = try #require(httpDate(api.header("Date")))
            #expect(abs(apiDate.timeIntervalSinceNow + 120) < 5, "the Management API's Date")
            let user = try #require(simulator.org.allUsers().first { $0.status == .active })
            let changed = try await request(
                "\(simulator.baseURL)/sim/v1/users/\(user.id)/profile", method: .POST, body: #"{"title": "Skewed"}"#)
            let controlDate = try #require(httpDate(changed.header("Date")))
            #expect(abs(controlDate.timeIntervalSinceNow + 120) < 5, "the control API's Date")
            #expect(abs(try #require(offset(changed.json["lastUpdated"])) + 120) < 5, "lastUpdated")
            let read = try await request("\(simulator.baseURL)/api/v1/users/\(user.id)")
            #expect(abs(try #require(offset(read.json["lastUpdated"])) + 120) < 5)

            let logged = try await systemLogEvents(simulator, type: "user.account.update_profile")
            #expect(logged.count == 1)
            #expect(abs(try #require(offset(logged.first?["published"])) + 120) < 5, "published in the System Log")
            await simulator.waitForDeliveries()
            let delivered = try #require(endpoint.deliveredEvents.first)
            #expect(abs(try #require(offset(delivered["published"])) + 120) < 5, "published in a delivery")
        }
    }
}
