import ConnectorDomain
import ConnectorTestSupport
import Foundation
import NIOHTTP1
import OktaSimulator
import Testing

@Suite("Simulator: rate limits and fault injection", .timeLimit(.minutes(3)))
struct RateLimitAndFaultTests {
    func limited(
        _ limits: [String: Int], window: TimeInterval = 2, concurrency: Int = 75, clock: ManualClock? = nil
    ) -> (inout SimulatorOptions) -> Void {
        { options in
            options.rateLimits = RateLimitSettings(limits: limits, window: window, concurrency: concurrency)
            if let clock { options.baseClock = clock }
        }
    }

    @Test func rateLimitHeadersCountDownThen429ThenRecoverAtReset() async throws {
        // The simulator's windows move only with this clock, so a loaded machine cannot split the countdown.
        let clock = ManualClock(now: Date(timeIntervalSince1970: 1_790_000_000.5))
        try await withSimulator(
            users: 10, configure: limited([OktaBucket.usersList: 3, OktaBucket.userGet: 100], clock: clock)
        ) { simulator in
            let url = "\(simulator.baseURL)/api/v1/users?limit=1"
            var remaining: [Int] = []
            for _ in 0..<3 {
                let response = try await request(url)
                #expect(response.status == 200)
                #expect(response.header("X-Rate-Limit-Limit") == "3")
                remaining.append(Int(response.header("X-Rate-Limit-Remaining") ?? "") ?? -1)
            }
            #expect(remaining == [2, 1, 0])
            let limited = try await request(url)
            #expect(limited.status == 429)
            #expect(limited.json["errorCode"] == "E0000047")
            #expect(limited.header("Retry-After") == nil, "Okta sends no Retry-After")
            #expect(limited.header("X-Okta-Request-Id") != nil)
            let reset = try #require(Int64(limited.header("X-Rate-Limit-Reset") ?? ""))
            // Other buckets are unaffected.
            let user = try #require(simulator.org.user(at: 0))
            #expect(try await request("\(simulator.baseURL)/api/v1/users/\(user.id)").status == 200)
            // Still limited until the reset; after it (the simulator's clock), it recovers.
            #expect(try await request(url).status == 429)
            clock.advance(to: Date(timeIntervalSince1970: TimeInterval(reset)))
            #expect(try await request(url).status == 200)
            #expect(Int64(clock.now.timeIntervalSince1970) >= reset - 1)
        }
    }

    @Test func dateAndResetFollowTheSimulatorsSkewedClock() async throws {
        try await withSimulator(
            users: 5,
            configure: {
                $0.clockSkew = 3600; $0.rateLimits = .enterprise
            }
        ) { simulator in
            let response = try await request("\(simulator.baseURL)/api/v1/users?limit=1")
            let reset = try #require(Double(response.header("X-Rate-Limit-Reset") ?? ""))
            #expect(reset > Date().timeIntervalSince1970 + 3500, "reset is in the simulator's time")
            let date = try #require(response.header("Date"))
            #expect(date.hasSuffix("GMT"))
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
            let parsed = try #require(formatter.date(from: date))
            #expect(abs(parsed.timeIntervalSinceNow - 3600) < 5)
        }
    }

    @Test func theConcurrencyLimitAnswers429WithZeroRemaining() async throws {
        // The slow answer waits on the simulator's manual clock: it holds the only slot until the
        // test moves time, however loaded the machine is.
        let clock = ManualClock(now: Date(timeIntervalSince1970: 1_790_000_000.5))
        try await withSimulator(users: 5, configure: limited([:], concurrency: 1, clock: clock)) { simulator in
            simulator.faults = FaultPlan(slowResponses: 1, slowDelay: 0.5)
            async let slow = request("\(simulator.baseURL)/api/v1/users?limit=1")
            #expect(await clock.waitForSleepers(1), "the slow request holds the slot")
            let rejected = try await request("\(simulator.baseURL)/api/v1/users?limit=1")
            clock.advance(by: 1)
            #expect(rejected.status == 429)
            #expect(rejected.header("X-Rate-Limit-Limit") == "1")
            #expect(rejected.header("X-Rate-Limit-Remaining") == "0")
            #expect(try await slow.status == 200)
        }
    }

    @Test func aStormEmptiesTheBucketUntilItsReset() async throws {
        let clock = ManualClock(now: Date(timeIntervalSince1970: 1_790_000_000.5))
        try await withSimulator(users: 5, configure: limited([OktaBucket.usersList: 50], clock: clock)) { simulator in
            let url = "\(simulator.baseURL)/api/v1/users?limit=1"
            simulator.faults = FaultPlan(rateLimitStorm: 2)
            for _ in 0..<2 {
                let response = try await request(url)
                #expect(response.status == 429)
                #expect(response.header("X-Rate-Limit-Remaining") == "0")
            }
            // The bucket stays empty until its reset, as after a real storm; then it recovers.
            #expect(try await request(url).status == 429)
            clock.advance(by: 2)
            #expect(try await request(url).status == 200)
        }
    }

    @Test func errorsSlownessAndDroppedConnectionsAreInjected() async throws {
        try await withSimulator(users: 5) { simulator in
            let url = "\(simulator.baseURL)/api/v1/users?limit=1"
            simulator.faults = FaultPlan(serverErrors: 1)
            let error = try await request(url)
            #expect(error.status == 500)
            #expect(error.json["errorCode"] == "E0000009")
            simulator.faults = FaultPlan(slowResponses: 1, slowDelay: 0.3)
            let started = Date()
            #expect(try await request(url).status == 200)
            #expect(Date().timeIntervalSince(started) >= 0.3)
            simulator.faults = FaultPlan(droppedConnections: 1)
            await #expect(throws: (any Error).self) { _ = try await request(url) }
            // Faults are aimed by path.
            simulator.faults = FaultPlan(pathPrefix: "/api/v1/devices", serverErrors: 1)
            #expect(try await request(url).status == 200)
            #expect(try await request("\(simulator.baseURL)/api/v1/devices").status == 500)
        }
    }

    @Test func aRepeatedNextCursorAndAMalformedPageCanBeInjected() async throws {
        try await withSimulator(users: 100) { simulator in
            simulator.faults = FaultPlan(repeatNextCursorFromPage: 2)
            let first = try await request("\(simulator.baseURL)/api/v1/users?limit=10")
            let second = try await request(try #require(first.nextLink))
            let third = try await request(try #require(second.nextLink))
            #expect(second.nextLink == first.nextLink, "page 2 points back to itself")
            #expect(third.status == 200)
            simulator.faults = FaultPlan(malformedPages: 1)
            let malformed = try await request("\(simulator.baseURL)/api/v1/users?limit=10")
            #expect(malformed.status == 200)
            #expect(malformed.json == .null, "not valid JSON")
        }
    }

    @Test func aRevokedTokenFailsEveryCallWith401UntilRestoredAndCallsAreCounted() async throws {
        try await withSimulator(users: 5) { simulator in
            let users = "\(simulator.baseURL)/api/v1/users?limit=1"
            let control = "\(simulator.baseURL)/sim/v1"
            #expect(try await request(users).status == 200)
            #expect(try await request("\(control)/calls", method: .DELETE).status == 204)

            let revoked = try await request("\(control)/faults/token-revocation", method: .PUT)
            #expect(revoked.json["tokenRevoked"] == true)
            for url in [users, "\(simulator.baseURL)/api/v1/devices", "\(simulator.baseURL)/api/v1/eventHooks"] {
                let answer = try await request(url)
                #expect(answer.status == 401, "\(url)")
                #expect(answer.json["errorCode"] == "E0000011")
                #expect(answer.json["errorSummary"] == "Invalid token provided")
            }
            // The control API itself is not Okta's and keeps working.
            #expect(try await request("\(control)/summary").status == 200)

            let restored = try await request("\(control)/faults/token-revocation", method: .DELETE)
            #expect(restored.json["tokenRevoked"] == false)
            #expect(try await request(users).status == 200)

            let calls = try await request("\(control)/calls")
            #expect(calls.json["total"] == 4)
            #expect(calls.json["byStatus"]?["401"] == 3)
            #expect(calls.json["byStatus"]?["200"] == 1)
            #expect(calls.json["byEndpoint"]?["GET \(OktaBucket.usersList)"] == 2)
            #expect(simulator.requestCounters.calls.total == 4)
        }
    }

    @Test func tokenRevocationIsPartOfTheFaultPlan() async throws {
        try await withSimulator(users: 5) { simulator in
            let plan = try await request(
                "\(simulator.baseURL)/sim/v1/faults", method: .PUT, body: #"{"tokenRevoked": true, "serverErrors": 0}"#)
            #expect(plan.status == 200)
            #expect(simulator.faults.tokenRevoked)
            #expect(try await request("\(simulator.baseURL)/api/v1/users?limit=1").status == 401)
            simulator.faults = FaultPlan()
            #expect(try await request("\(simulator.baseURL)/api/v1/users?limit=1").status == 200)
        }
    }
}
