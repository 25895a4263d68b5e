import AsyncHTTPClient
import ConnectorDomain
import ConnectorTestSupport
import Foundation
import Logging
import OktaClient
import OktaSimulator
import Testing

@Suite("Okta client: headers, limits, retries, pagination", .timeLimit(.minutes(3)))
struct OktaClientTests {
    @Test func linkHeadersAreReadFromTwoLinesOrOneJoinedValue() {
        let two = [
            "<https://acme.okta.com/api/v1/users?limit=2>; rel=\"self\"",
            "<https://acme.okta.com/api/v1/users?after=00u2&limit=2>; rel=\"next\"",
        ]
        #expect(LinkHeader.url(rel: "next", in: two) == "https://acme.okta.com/api/v1/users?after=00u2&limit=2")
        let joined = [
            "<https://acme.okta.com/api/v1/users?limit=2>; rel=\"self\", <https://acme.okta.com/api/v1/users?after=00u2&limit=2>; rel=\"next\""
        ]
        #expect(LinkHeader.url(rel: "next", in: joined) == "https://acme.okta.com/api/v1/users?after=00u2&limit=2")
        #expect(LinkHeader.url(rel: "next", in: ["<https://acme.okta.com/api/v1/users?limit=2>; rel=\"self\""]) == nil)
        // A comma inside the URL does not split it.
        #expect(
            LinkHeader.url(rel: "next", in: ["<https://a.okta.com/x?f=a,b>; rel=\"next\""])
                == "https://a.okta.com/x?f=a,b")
    }

    @Test func theStatusFilterIsBuiltFromTheSelection() {
        #expect(OktaAPIClient.statusFilter([.active, .suspended]) == #"status eq "ACTIVE" or status eq "SUSPENDED""#)
    }

    @Test func backoffGrowsAndIsCapped() {
        let policy = RetryPolicy(maximumAttempts: 6, initialDelay: 0.5, maximumDelay: 4)
        #expect(policy.delay(afterAttempt: 1, random: 1) == 0.5)
        #expect(policy.delay(afterAttempt: 3, random: 1) == 2)
        #expect(policy.delay(afterAttempt: 6, random: 1) == 4)
        #expect(policy.delay(afterAttempt: 6, random: 0) == 2, "jitter keeps at least half")
    }

    @Test func theLimiterKeepsUseUnderTheShareAndWaitsForTheResetFromDate() async throws {
        let clock = ManualClock(now: Timestamp.parse("2026-06-01T12:00:00Z")!.date)
        let limiter = OktaRateLimiter(share: 0.5, clock: clock)
        // Okta's clock is an hour ahead: reset is 30 s after its Date.
        let oktaDate = clock.now.addingTimeInterval(3600)
        let resetIn = HeaderValues.rateLimitResetWait(
            String(Int64(oktaDate.timeIntervalSince1970) + 30), now: clock.now, responseDate: oktaDate)
        await limiter.record(.usersList, limit: 10, remaining: 7, resetIn: resetIn?.value)
        try await limiter.acquire(.usersList)  // 7 > 5 reserved for others
        try await limiter.acquire(.usersList)  // 6 > 5
        let waiting = Task { try await limiter.acquire(.usersList) }
        #expect(await clock.waitForSleepers(1))
        #expect(abs((clock.nextDeadline?.timeIntervalSince(clock.now) ?? 0) - 30) < 1, "waits 30 s, not an hour")
        clock.advance(by: 30)
        try await waiting.value
        #expect(await limiter.waits == 1)
    }

    @Test func afterA429ItWaitsResetMinusDatePlusOneSecond() async throws {
        let clock = ManualClock(now: Timestamp.parse("2026-06-01T12:00:00Z")!.date)
        let limiter = OktaRateLimiter(share: 1, clock: clock)
        let oktaDate = clock.now.addingTimeInterval(-7200)
        let waiting = Task {
            try await limiter.waitAfterTooManyRequests(
                .apps,
                resetIn: HeaderValues.rateLimitResetWait(
                    String(Int64(oktaDate.timeIntervalSince1970) + 10), now: clock.now, responseDate: oktaDate)?.value)
        }
        #expect(await clock.waitForSleepers(1))
        let wait = clock.nextDeadline!.timeIntervalSince(clock.now)
        #expect(wait >= 11 && wait < 11.5)
        clock.advance(by: 12)
        try await waiting.value
    }

    @discardableResult
    func withClient<T>(
        users: Int = 50, configure: (inout SimulatorOptions) -> Void = { _ in }, token: String = "sim-api-token",
        _ body: (OktaAPIClient, OktaSimulator) async throws -> T
    ) async throws -> T {
        var options = SimulatorOptions()
        options.users = users
        options.rateLimits = nil
        options.logger.logLevel = .critical
        configure(&options)
        let simulator = try await OktaSimulator.start(options)
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let clock = SystemWallClock()
        let url = URL(string: simulator.baseURL)!
        let client = OktaAPIClient(
            orgURL: url,
            credentials: OktaCredentialsProvider(
                method: .apiToken(Secret(token)), orgURL: url, httpClient: http, clock: clock),
            httpClient: http, limiter: OktaRateLimiter(share: 1, clock: clock), clock: clock,
            retry: RetryPolicy(maximumAttempts: 3, initialDelay: 0.01, maximumDelay: 0.02))
        do {
            let result = try await body(client, simulator)
            try await http.shutdown()
            await simulator.stop()
            return result
        } catch {
            try? await http.shutdown()
            await simulator.stop()
            throw error
        }
    }

    @Test func pagesAreFollowedToTheEndWithTheFilter() async throws {
        try await withClient(users: 450) { client, simulator in
            var ids: [String] = []
            var pages = 0
            for try await page in client.listUsers(statuses: OktaUserStatus.allCases, limit: 100) {
                ids += page.map(\.id)
                pages += 1
            }
            #expect(ids.count == 450)
            #expect(Set(ids).count == 450)
            #expect(pages == 5)
            #expect(client.stats.counts.calls["GET /api/v1/users"] == 5)
        }
    }

    @Test func serverErrorsAndDroppedConnectionsAreRetried() async throws {
        try await withClient { client, simulator in
            let user = try #require(simulator.org.user(at: 1))
            simulator.faults = FaultPlan(serverErrors: 2)
            #expect(try await client.user(id: user.id).id == user.id)
            simulator.faults = FaultPlan(droppedConnections: 1)
            #expect(try await client.user(id: user.id).id == user.id)
            #expect(client.stats.counts.retries >= 3)
            simulator.faults = FaultPlan(serverErrors: 5)
            await #expect {
                _ = try await client.user(id: user.id)
            } throws: { error in
                if case OktaError.apiError(_, 500, let body) = error { return body?.errorCode == "E0000009" }
                return false
            }
        }
    }

    @Test func notFoundAndBadTokensAreTypedErrors() async throws {
        try await withClient { client, simulator in
            await #expect {
                _ = try await client.user(id: "00uDOESNOTEXIST000000")
            } throws: { error in
                if case OktaError.notFound = error { return true }
                return false
            }
        }
        try await withClient(token: "wrong") { client, _ in
            await #expect {
                _ = try await client.user(id: "x")
            } throws: { error in
                guard let okta = error as? OktaError, case .invalidCredentials = okta else { return false }
                return okta.isConfigurationError && okta.description.contains("okta.api_token")
            }
            #expect(client.stats.counts.total == 1, "no retry on 401")
        }
    }

    @Test func aRepeatedNextLinkStopsTheListing() async throws {
        try await withClient(users: 500) { client, simulator in
            simulator.faults = FaultPlan(repeatNextCursorFromPage: 2)
            await #expect {
                for try await _ in client.listUsers(statuses: [.active], limit: 50) {}
            } throws: { error in
                if case OktaError.repeatedCursor = error { return true }
                return false
            }
        }
    }

    @Test func eventHooksCanBeCreatedAndListed() async throws {
        try await withClient { client, _ in
            let created = try await client.createEventHook(
                OktaEventHook(
                    name: "okta-connector", uri: "https://connector.example.com/hooks/okta/x",
                    eventTypes: ["user.session.start"], authHeader: "Authorization", secret: Secret("hook-secret")))
            #expect(created.id != nil)
            #expect(created.channel.config.authScheme?.value == nil, "Okta never returns the secret")
            #expect(try await client.eventHooks().map(\.id) == [created.id])
        }
    }
}
