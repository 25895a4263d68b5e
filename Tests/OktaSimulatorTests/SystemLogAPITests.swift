import ConnectorDomain
import ConnectorTestSupport
import Foundation
import OktaSimulator
import Testing

@Suite("Simulator: the System Log API (GET /api/v1/logs)", .timeLimit(.minutes(3)))
struct SystemLogAPITests {
    /// Makes `count` profile changes and returns the users changed, in order.
    func changeProfiles(_ simulator: OktaSimulator, count: Int) throws -> [SimUser] {
        let users = Array(simulator.org.allUsers().filter { $0.status == .active }.prefix(count))
        for (index, user) in users.enumerated() {
            _ = try simulator.org.updateProfile(id: user.id, changes: ["title": .string("Title \(index)")])
        }
        return users
    }

    func eventTypes(_ response: TestResponse) -> [String] {
        guard case .array(let items) = response.json else { return [] }
        return items.compactMap { $0["eventType"]?.stringValue }
    }

    func uuids(_ response: TestResponse) -> [String] {
        guard case .array(let items) = response.json else { return [] }
        return items.compactMap { $0["uuid"]?.stringValue }
    }

    @Test func mutationsAppearInTheLogAsFullLogEventsFedLikeTheHooks() async throws {
        try await withSimulator(users: 30) { simulator in
            let since = Timestamp(Date().addingTimeInterval(-60)).iso8601
            let users = try changeProfiles(simulator, count: 3)
            try simulator.org.recordLogin(userId: users[0].id)
            let response = try await request(
                "\(simulator.baseURL)/api/v1/logs?since=\(since)&sortOrder=ASCENDING&limit=10")
            #expect(response.status == 200)
            guard case .array(let events) = response.json else {
                Issue.record("not an array: \(response.text)")
                return
            }
            #expect(events.count == 4)
            #expect(
                events.map { $0["eventType"]?.stringValue } == Array(repeating: "user.account.update_profile", count: 3)
                    + ["user.session.start"])
            guard case .array(let targets)? = events[0]["target"] else {
                Issue.record("no target array")
                return
            }
            #expect(targets.contains { $0["id"]?.stringValue == users[0].id && $0["type"] == "User" })
            #expect(events[3]["actor"]?["id"]?.stringValue == users[0].id)
            for event in events {
                #expect(event["published"]?.stringValue.flatMap(Timestamp.parse) != nil)
                #expect(event["outcome"]?["result"] == "SUCCESS")
            }
            #expect(response.header("X-Rate-Limit-Limit") == nil, "rate limits are off in this test")
        }
    }

    @Test func aPollingRequestAlwaysHasANextLinkThatContinuesTheStream() async throws {
        try await withSimulator(users: 30) { simulator in
            let since = Timestamp(Date().addingTimeInterval(-60)).iso8601
            _ = try changeProfiles(simulator, count: 5)
            let first = try await request("\(simulator.baseURL)/api/v1/logs?since=\(since)&sortOrder=ASCENDING&limit=3")
            #expect(uuids(first).count == 3)
            let second = try await request(try #require(first.nextLink))
            #expect(uuids(second).count == 2)
            // Caught up: still a next link, and an empty page from it.
            let third = try await request(try #require(second.nextLink))
            #expect(third.status == 200)
            #expect(uuids(third).isEmpty)
            let link = try #require(third.nextLink, "a polling answer has a next link even when empty")
            // New events appear behind the link, none twice.
            _ = try changeProfiles(simulator, count: 2)
            let fourth = try await request(link)
            #expect(uuids(fourth).count == 2)
            let all = uuids(first) + uuids(second) + uuids(fourth)
            #expect(Set(all).count == 7)
            #expect(fourth.nextLink != nil)
        }
    }

    @Test func boundedRequestsFilterSortAndEndWithoutANextLink() async throws {
        try await withSimulator(users: 30) { simulator in
            let since = Timestamp(Date().addingTimeInterval(-60)).iso8601
            let users = try changeProfiles(simulator, count: 4)
            try simulator.org.recordLogin(userId: users[1].id)
            let until = Timestamp(Date().addingTimeInterval(60)).iso8601
            let filter = URLFormEncoding.encode("eventType eq \"user.account.update_profile\"")
            let ascending = try await request(
                "\(simulator.baseURL)/api/v1/logs?since=\(since)&until=\(until)&filter=\(filter)&limit=3")
            #expect(uuids(ascending).count == 3)
            let rest = try await request(try #require(ascending.nextLink, "more remain: a next link"))
            #expect(uuids(rest).count == 1)
            #expect(rest.nextLink == nil, "a bounded request ends without a next link")
            let descending = try await request(
                "\(simulator.baseURL)/api/v1/logs?since=\(since)&until=\(until)&sortOrder=DESCENDING&limit=10")
            let newestFirst = uuids(descending)
            #expect(newestFirst.count == 5)
            #expect(eventTypes(descending).first == "user.session.start")
            #expect(Array(newestFirst.reversed().prefix(4)) == uuids(ascending) + uuids(rest))
            // `until` excludes what was published at or after it.
            let past = try await request(
                "\(simulator.baseURL)/api/v1/logs?since=\(since)&until=\(Timestamp(Date().addingTimeInterval(-30)).iso8601)"
            )
            #expect(uuids(past).isEmpty)
            #expect(past.nextLink == nil)
        }
    }

    @Test func badParametersAreRejectedWithOktasErrors() async throws {
        try await withSimulator(users: 10) { simulator in
            let base = "\(simulator.baseURL)/api/v1/logs"
            let badFilter = try await request("\(base)?filter=\(URLFormEncoding.encode("actor.id sw \"00u\""))")
            #expect(badFilter.status == 400)
            #expect(badFilter.json["errorCode"] == "E0000031")
            #expect(try await request("\(base)?since=yesterday").status == 400)
            #expect(try await request("\(base)?sortOrder=SIDEWAYS").status == 400)
            #expect(try await request("\(base)?limit=5000").status == 400)
            #expect(try await request("\(base)?after=not-a-cursor").status == 400)
            #expect(try await request(base, token: "wrong").status == 401)
        }
    }

    @Test func theLogHasItsOwnRateLimitBucket() async throws {
        try await withSimulator(
            users: 10,
            configure: { options in
                options.rateLimits = RateLimitSettings(
                    limits: [OktaBucket.logs: 2, OktaBucket.usersList: 100], window: 30)
            }
        ) { simulator in
            let url = "\(simulator.baseURL)/api/v1/logs?limit=1"
            let first = try await request(url)
            #expect(first.status == 200)
            #expect(first.header("X-Rate-Limit-Limit") == "2")
            #expect(try await request(url).status == 200)
            let limited = try await request(url)
            #expect(limited.status == 429)
            #expect(limited.json["errorCode"] == "E0000047")
            // The users bucket is untouched by the log's.
            let users = try await request("\(simulator.baseURL)/api/v1/users?limit=1")
            #expect(users.status == 200)
            #expect(users.header("X-Rate-Limit-Limit") == "100")
        }
    }
}
