import ConnectorDomain
import ConnectorTestSupport
import Foundation
import NIOHTTP1
import OktaSimulator
import Synchronization
import Testing

@Suite("Simulator: Management API", .timeLimit(.minutes(3)))
struct ManagementAPITests {
    @Test(arguments: [7, 50, 200])
    func paginationReturnsEveryUserExactlyOnce(_ limit: Int) async throws {
        try await withSimulator(users: 300) { simulator in
            let filter = OktaUserStatus.allCases.map { "status eq \"\($0.rawValue)\"" }.joined(separator: " or ")
            let encoded = filter.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let (items, pages) = try await listAll("\(simulator.baseURL)/api/v1/users?limit=\(limit)&filter=\(encoded)")
            let ids = items.compactMap { $0["id"]?.stringValue }
            #expect(ids.count == 300)
            #expect(Set(ids).count == 300)
            #expect(pages >= 300 / limit)
        }
    }

    @Test func withoutAFilterDeprovisionedUsersAreLeftOut() async throws {
        try await withSimulator(users: 300) { simulator in
            let (items, _) = try await listAll("\(simulator.baseURL)/api/v1/users")
            let truth = simulator.org.allUsers()
            #expect(items.count == truth.filter { $0.status != .deprovisioned }.count)
            #expect(!items.contains { $0["status"] == "DEPROVISIONED" })
            #expect(truth.contains { $0.status == .deprovisioned })
        }
    }

    @Test func filtersReturnExactlyTheMatchingStatuses() async throws {
        try await withSimulator(users: 400) { simulator in
            let truth = simulator.org.allUsers()
            // Spaces as `+`, as the recorded Okta SDK requests write them.
            let url =
                "\(simulator.baseURL)/api/v1/users?limit=200&filter=status+eq+%22SUSPENDED%22+or+status+eq+%22DEPROVISIONED%22"
            let (items, _) = try await listAll(url)
            let expected = Set(truth.filter { [.suspended, .deprovisioned].contains($0.status) }.map(\.id))
            #expect(Set(items.compactMap { $0["id"]?.stringValue }) == expected)
            #expect(!expected.isEmpty)
            let search = try await listAll("\(simulator.baseURL)/api/v1/users?search=status%20eq%20%22STAGED%22")
            #expect(search.items.count == truth.filter { $0.status == .staged }.count)
            let cutoff = "2025-01-01T00:00:00.000Z"
            let recent = try await listAll(
                "\(simulator.baseURL)/api/v1/users?filter=lastUpdated%20gt%20%22\(cutoff)%22")
            #expect(recent.items.count == truth.filter { $0.lastUpdated > Timestamp.parse(cutoff)! }.count)
            let bad = try await request("\(simulator.baseURL)/api/v1/users?filter=status%20eq%20%22NOPE%22")
            #expect(bad.status == 400)
            #expect(bad.json["errorCode"] == "E0000031")
        }
    }

    @Test func linkHeadersComeAsTwoLinesWithOpaqueCursors() async throws {
        try await withSimulator(users: 50) { simulator in
            let response = try await request("\(simulator.baseURL)/api/v1/users?limit=10")
            let links = response.headers[canonicalForm: "link"]
            #expect(links.count == 2)
            #expect(links[0].hasSuffix("rel=\"self\""))
            #expect(links[1].hasSuffix("rel=\"next\""))
            #expect(response.nextLink?.contains("after=00u") == true)
        }
    }

    @Test func aPublicURLIsWhatLinksAndLinkHeadersName() async throws {
        // As behind a host name mapped to 127.0.0.1 (the side-by-side benchmark's org).
        try await withSimulator(users: 30, configure: { $0.publicURL = "https://bench-org.okta.com/" }) { simulator in
            #expect(simulator.baseURL == "https://bench-org.okta.com")
            let response = try await request("http://127.0.0.1:\(simulator.port)/api/v1/users?limit=10")
            #expect(response.nextLink?.hasPrefix("https://bench-org.okta.com/api/v1/users?") == true)
            let links = response.headers[canonicalForm: "link"]
            #expect(links.allSatisfy { $0.hasPrefix("<https://bench-org.okta.com/api/v1/users") })
            guard case .array(let users) = response.json else {
                Issue.record("not a JSON array")
                return
            }
            let first = try #require(users.first)
            #expect(
                first["_links"]?["self"]?["href"]?.stringValue?.hasPrefix("https://bench-org.okta.com/api/v1/users/")
                    == true)
        }
    }

    @Test func aCursorOfAnotherListingIsRejected() async throws {
        try await withSimulator(users: 20) { simulator in
            for path in ["/api/v1/users?after=bogus", "/api/v1/apps?after=00uNOTANAPP", "/api/v1/devices?after=x"] {
                let response = try await request(simulator.baseURL + path)
                #expect(response.status == 400, "\(path)")
                #expect(response.json["errorCode"] == "E0000001")
            }
        }
    }

    @Test func getUserByIdOrLoginAnd404AfterDelete() async throws {
        try await withSimulator(users: 20) { simulator in
            let user = try #require(simulator.org.user(at: 3))
            let byId = try await request("\(simulator.baseURL)/api/v1/users/\(user.id)")
            #expect(byId.status == 200)
            #expect(byId.json["profile"]?["login"]?.stringValue == user.login)
            let byLogin = try await request("\(simulator.baseURL)/api/v1/users/\(user.login)")
            #expect(byLogin.json["id"]?.stringValue == user.id)
            try simulator.org.apply(.delete, to: user.id)
            let gone = try await request("\(simulator.baseURL)/api/v1/users/\(user.id)")
            #expect(gone.status == 404)
            #expect(gone.json["errorCode"] == "E0000007")
            #expect(gone.json["errorSummary"]?.stringValue == "Not found: Resource not found: \(user.id) (User)")
        }
    }

    @Test func credentialsAreOmittedWhenAsked() async throws {
        try await withSimulator(users: 5) { simulator in
            let user = try #require(simulator.org.user(at: 0))
            let full = try await request("\(simulator.baseURL)/api/v1/users/\(user.id)")
            #expect(full.json["credentials"] != nil)
            let omitted = try await request(
                "\(simulator.baseURL)/api/v1/users/\(user.id)",
                headers: [("Content-Type", "application/json; okta-response=omitCredentials,omitCredentialsLinks")])
            #expect(omitted.json["credentials"] == nil)
        }
    }

    @Test func appLinksAndAppUsersAgree() async throws {
        try await withSimulator(users: 120) { simulator in
            // Per-user view.
            var perUser: [String: Set<String>] = [:]
            for user in simulator.org.allUsers() {
                let links = try await request("\(simulator.baseURL)/api/v1/users/\(user.id)/appLinks")
                guard case .array(let items) = links.json else { continue }
                perUser[user.id] = Set(items.compactMap { $0["appInstanceId"]?.stringValue })
            }
            // Bulk view: every app's users.
            var bulk: [String: Set<String>] = [:]
            let (apps, _) = try await listAll("\(simulator.baseURL)/api/v1/apps")
            #expect(apps.count == 24)
            for app in apps {
                let appId = try #require(app["id"]?.stringValue)
                let (users, _) = try await listAll("\(simulator.baseURL)/api/v1/apps/\(appId)/users?limit=500")
                for user in users { bulk[user["id"]!.stringValue!, default: []].insert(appId) }
            }
            for (userId, apps) in perUser where !apps.isEmpty {
                #expect(bulk[userId] == apps, "\(userId)")
            }
        }
    }

    @Test func devicesPerUserAndInBulkAgree() async throws {
        try await withSimulator(users: 150) { simulator in
            var perUser: [String: Set<String>] = [:]
            for user in simulator.org.allUsers() {
                let response = try await request("\(simulator.baseURL)/api/v1/users/\(user.id)/devices")
                guard case .array(let items) = response.json else { continue }
                let ids = Set(items.compactMap { $0["device"]?["id"]?.stringValue })
                if !ids.isEmpty { perUser[user.id] = ids }
            }
            let (devices, pages) = try await listAll("\(simulator.baseURL)/api/v1/devices?expand=user&limit=20")
            #expect(pages > 1)
            var bulk: [String: Set<String>] = [:]
            for device in devices {
                guard case .array(let users)? = device["_embedded"]?["users"],
                    let owner = users.first?["user"]?["id"]?.stringValue
                else {
                    Issue.record("expand=user embeds the user")
                    continue
                }
                bulk[owner, default: []].insert(device["id"]!.stringValue!)
            }
            #expect(bulk == perUser)
            #expect(Set(devices.compactMap { $0["id"]?.stringValue }).count == devices.count, "each device once")
        }
    }

    @Test func apiTokensAreCheckedAndSDKStyleTokensWithoutASpaceAccepted() async throws {
        try await withSimulator(users: 5) { simulator in
            let url = "\(simulator.baseURL)/api/v1/users?limit=1"
            #expect(try await request(url, authorization: "SSWSsim-api-token").status == 200)
            let wrong = try await request(url, token: "wrong")
            #expect(wrong.status == 401)
            #expect(wrong.json["errorCode"] == "E0000011")
            #expect(try await request(url, token: nil).status == 401)
        }
    }
}
