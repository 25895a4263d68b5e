import ConnectorDomain
import ConnectorTestSupport
import Foundation
import NIOHTTP1
import OktaSimulator
import Testing

@Suite("Simulator: groups", .timeLimit(.minutes(3)))
struct GroupsAPITests {
    func ids(_ items: [JSONValue]) -> [String] { items.compactMap { $0["id"]?.stringValue } }

    func array(_ response: TestResponse) -> [JSONValue] {
        if case .array(let items) = response.json { return items }
        Issue.record("not a JSON array: \(response.text)")
        return []
    }

    func encoded(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }

    @Test func groupsAreListedInPagesWithOpaqueCursorsEveryoneFirst() async throws {
        try await withSimulator(users: 40) { simulator in
            let truth = simulator.org.groups()
            #expect(truth.count == 1 + 12 + 8)
            let (items, pages) = try await listAll("\(simulator.baseURL)/api/v1/groups?limit=5")
            #expect(ids(items) == truth.map(\.id))
            #expect(pages == 5)
            let first = try await request("\(simulator.baseURL)/api/v1/groups?limit=5")
            let links = first.headers[canonicalForm: "link"]
            #expect(links.count == 2)
            #expect(links[0].hasSuffix("rel=\"self\""))
            #expect(first.nextLink?.contains("after=00g") == true)
            // The default limit (10000) lists them all on one page, without a next link.
            let all = try await request("\(simulator.baseURL)/api/v1/groups")
            #expect(array(all).count == truth.count)
            #expect(all.nextLink == nil)

            let everyone = items[0]
            #expect(everyone["type"] == "BUILT_IN")
            #expect(everyone["profile"]?["name"] == "Everyone")
            #expect(everyone["objectClass"] == .array(["okta:user_group"]))
            let names = items.compactMap { $0["profile"]?["name"]?.stringValue }
            for awkward in ["Sales, EMEA", "\"Quoted\" Group", "CN=Domain Users,OU=Groups,DC=corp,DC=example"] {
                #expect(names.contains(awkward), "\(awkward)")
            }
            #expect(Set(names).count == names.count, "generated names are unique")
            let directory = try #require(items.first { $0["profile"]?["name"]?.stringValue?.hasPrefix("CN=") == true })
            #expect(directory["type"] == "APP_GROUP")
            #expect(directory["objectClass"] == .array(["okta:windows_security_principal"]))
            #expect(directory["profile"]?["samAccountName"] == "Domain Users")
            #expect(directory["profile"]?["dn"] == "CN=Domain Users,OU=Groups,DC=corp,DC=example")
            #expect(directory["profile"]?["windowsDomainQualifiedName"] == "CORP\\Domain Users")
            #expect(directory["profile"]?["groupType"] == "Security")
            #expect(directory["profile"]?["groupScope"] == "Global")
            #expect(directory["profile"]?["externalId"]?.stringValue.flatMap { Data(base64Encoded: $0) }?.count == 16)
            for group in items {
                let id = try #require(group["id"]?.stringValue)
                #expect(id.hasPrefix("00g") && id.count == 20)
                for key in ["created", "lastUpdated", "lastMembershipUpdated"] {
                    #expect(group[key]?.stringValue.flatMap(Timestamp.parse) != nil, "\(key)")
                }
                #expect(
                    group["_links"]?["users"]?["href"]?.stringValue == "\(simulator.baseURL)/api/v1/groups/\(id)/users")
            }
            let one = try await request("\(simulator.baseURL)/api/v1/groups/\(truth[3].id)")
            #expect(one.status == 200)
            #expect(one.json["profile"]?["name"]?.stringValue == truth[3].name)
        }
    }

    @Test func qFindsNamePrefixesWithoutPagingAndAtMost300() async throws {
        try await withSimulator(users: 10, configure: { $0.groups = 400 }) { simulator in
            let sales = try await request("\(simulator.baseURL)/api/v1/groups?q=sales")
            #expect(Set(array(sales).compactMap { $0["profile"]?["name"]?.stringValue }) == ["Sales", "Sales, EMEA"])
            #expect(sales.nextLink == nil)
            let projects = try await request("\(simulator.baseURL)/api/v1/groups?q=Project&limit=1000")
            #expect(array(projects).count == 300)
            #expect(projects.nextLink == nil, "a query is not paged")
            let few = try await request("\(simulator.baseURL)/api/v1/groups?q=Project+Team+1&limit=5")
            #expect(array(few).count == 5)
        }
    }

    @Test func filterAndSearchSelectGroupsAndUnsupportedFiltersAreRejected() async throws {
        try await withSimulator(users: 10) { simulator in
            let truth = simulator.org.groups()
            let base = "\(simulator.baseURL)/api/v1/groups"
            let okta = try await request("\(base)?filter=\(encoded("type eq \"OKTA_GROUP\""))")
            #expect(ids(array(okta)) == truth.filter { $0.type == .oktaGroup }.map(\.id))
            let imported = try await request("\(base)?filter=type+eq+%22APP_GROUP%22")
            #expect(array(imported).count == 2)
            let byId = try await request("\(base)?filter=\(encoded("id eq \"\(truth[5].id)\""))")
            #expect(ids(array(byId)) == [truth[5].id])
            let either = try await request(
                "\(base)?filter=\(encoded("type eq \"BUILT_IN\" or id eq \"\(truth[5].id)\""))")
            #expect(ids(array(either)) == [truth[0].id, truth[5].id])
            let byName = try await request("\(base)?search=\(encoded("profile.name eq \"sales, emea\""))")
            #expect(array(byName).compactMap { $0["profile"]?["name"]?.stringValue } == ["Sales, EMEA"])
            for bad in ["profile.name eq \"Sales\"", "type eq \"NOPE\"", "id sw \"00g\"", "type eq"] {
                let response = try await request("\(base)?filter=\(encoded(bad))")
                #expect(response.status == 400, "\(bad)")
                #expect(response.json["errorCode"] == "E0000031", "\(bad)")
            }
            let badCursor = try await request("\(base)?after=00uNOTAGROUP")
            #expect(badCursor.status == 400)
        }
    }

    @Test func membersComeInPagesShorterThanAskedUntilTheLastNextLink() async throws {
        try await withSimulator(users: 400) { simulator in
            let domainUsers = try #require(simulator.org.groups().first { $0.name.hasPrefix("CN=Domain Users") })
            let truth = simulator.org.allMembers(ofGroup: domainUsers.index).map(\.id)
            #expect(truth.count > 150)
            var url: String? = "\(simulator.baseURL)/api/v1/groups/\(domainUsers.id)/users?limit=40"
            var listed: [String] = []
            var shortPagesWithMore = 0
            while let current = url {
                let response = try await request(current)
                #expect(response.status == 200)
                let page = array(response)
                listed += ids(page)
                url = response.nextLink
                if page.count < 40, url != nil { shortPagesWithMore += 1 }
                #expect(page.first?["profile"]?["login"] != nil, "full users")
                if listed.count > 1000 { break }
            }
            #expect(listed == truth, "every member once, in order")
            #expect(shortPagesWithMore > 0, "some pages hold fewer users than asked while more remain")
            // The same pages every time.
            let again = try await listAll("\(simulator.baseURL)/api/v1/groups/\(domainUsers.id)/users?limit=40")
            #expect(ids(again.items) == truth)
            // Everyone has every user, of every status.
            let everyone = try await listAll(
                "\(simulator.baseURL)/api/v1/groups/\(simulator.org.everyoneGroup.id)/users")
            #expect(Set(ids(everyone.items)) == Set(simulator.org.allUsers().map(\.id)))
            #expect(everyone.items.contains { $0["status"] == "DEPROVISIONED" })
        }
    }

    @Test func aUsersGroupsIncludeEveryoneAndAgreeWithTheMemberLists() async throws {
        try await withSimulator(users: 80) { simulator in
            var perUser: [String: Set<String>] = [:]
            for user in simulator.org.allUsers() {
                let response = try await request("\(simulator.baseURL)/api/v1/users/\(user.id)/groups")
                #expect(response.status == 200)
                #expect(response.nextLink == nil)
                let groups = array(response)
                #expect(groups.first?["type"] == "BUILT_IN", "Everyone first")
                perUser[user.id] = Set(ids(groups))
            }
            var bulk: [String: Set<String>] = [:]
            let (groups, _) = try await listAll("\(simulator.baseURL)/api/v1/groups")
            for group in ids(groups) {
                let (members, _) = try await listAll("\(simulator.baseURL)/api/v1/groups/\(group)/users?limit=25")
                for member in ids(members) { bulk[member, default: []].insert(group) }
            }
            #expect(bulk == perUser)
            #expect(perUser.values.contains { $0.count >= 3 }, "users are in a few groups")
            // By login too.
            let user = try #require(simulator.org.user(at: 7))
            let byLogin = try await request("\(simulator.baseURL)/api/v1/users/\(user.login)/groups")
            #expect(Set(ids(array(byLogin))) == perUser[user.id])
        }
    }

    @Test func unknownGroupsAndUsersAnswer404E0000007() async throws {
        try await withSimulator(users: 10) { simulator in
            for path in [
                "/api/v1/groups/00gNOTAGROUP", "/api/v1/groups/00gNOTAGROUP/users", "/api/v1/users/00uNOBODY/groups",
            ] {
                let response = try await request(simulator.baseURL + path)
                #expect(response.status == 404, "\(path)")
                #expect(response.json["errorCode"] == "E0000007", "\(path)")
            }
            let group = try simulator.org.createGroup(name: "Short-lived")
            try simulator.org.deleteGroup(id: group.id)
            let gone = try await request("\(simulator.baseURL)/api/v1/groups/\(group.id)/users")
            #expect(gone.status == 404)
            #expect(gone.json["errorSummary"]?.stringValue == "Not found: Resource not found: \(group.id) (UserGroup)")
        }
    }

    @Test func groupEndpointsNeedOktaGroupsReadAndCountInTheirOwnBuckets() async throws {
        let app = SimulatedServiceApp(
            clientId: "0oaNoGroups", clientSecret: "secret", grantedScopes: ["okta.users.read"], requireDPoP: false)
        try await withSimulator(
            users: 10,
            configure: {
                $0.serviceApps = [app]
                $0.rateLimits = .enterprise
            }
        ) { simulator in
            let basic = Data("0oaNoGroups:secret".utf8).base64EncodedString()
            let issued = try await request(
                "\(simulator.baseURL)/oauth2/v1/token", method: .POST, authorization: "Basic \(basic)",
                body: "grant_type=client_credentials&scope=okta.users.read",
                headers: [("Content-Type", "application/x-www-form-urlencoded")])
            let token = try #require(issued.json["access_token"]?.stringValue, "\(issued.text)")
            let user = try #require(simulator.org.user(at: 1))
            let group = simulator.org.everyoneGroup
            for path in ["/api/v1/groups", "/api/v1/groups/\(group.id)", "/api/v1/groups/\(group.id)/users"] {
                let refused = try await request(simulator.baseURL + path, authorization: "Bearer \(token)")
                #expect(refused.status == 403, "\(path)")
                #expect(refused.json["errorCode"] == "E0000006")
                let challenge = refused.header("WWW-Authenticate") ?? ""
                #expect(challenge.contains("insufficient_scope") && challenge.contains("scope=\"okta.groups.read\""))
            }
            // A user's groups are read with okta.users.read (Users API).
            let mine = try await request(
                "\(simulator.baseURL)/api/v1/users/\(user.id)/groups", authorization: "Bearer \(token)")
            #expect(mine.status == 200)
            #expect(mine.header("X-Rate-Limit-Limit") == "1000")
            let list = try await request("\(simulator.baseURL)/api/v1/groups")
            #expect(list.header("X-Rate-Limit-Limit") == "500")
            let members = try await request("\(simulator.baseURL)/api/v1/groups/\(group.id)/users")
            #expect(members.header("X-Rate-Limit-Limit") == "1000")
            #expect(members.header("X-Rate-Limit-Remaining") == "999", "apart from the user's groups")
        }
    }

    @Test func membershipChangesAreLoggedAndDeliveredPrimaryEmailChangesOnlyLogged() async throws {
        let endpoint = try await HookEndpoint()
        defer { endpoint.stop() }
        try await withSimulator(
            users: 20, configure: { $0.hookTrustRootsPEM = [endpoint.certificate.certificatePEM] }
        ) { simulator in
            let types = [
                "group.user_membership.add", "group.user_membership.remove", "user.account.update_profile",
                "user.account.update_primary_email",
            ]
            let body = """
                {"name":"groups","events":{"type":"EVENT_TYPE","items":\(try JSONCoding.string(types))},
                 "channel":{"type":"HTTP","version":"1.0.0","config":{"uri":"\(endpoint.url)",
                 "authScheme":{"type":"HEADER","key":"Authorization","value":"s"}}}}
                """
            let created = try await request("\(simulator.baseURL)/api/v1/eventHooks", method: .POST, body: body)
            let hook = try #require(created.json["id"]?.stringValue)
            _ = try await request("\(simulator.baseURL)/api/v1/eventHooks/\(hook)/lifecycle/verify", method: .POST)

            let since = Timestamp(Date().addingTimeInterval(-60)).iso8601
            let group = try #require(simulator.org.groups().first { $0.name == "Sales, EMEA" })
            let user = try #require(
                simulator.org.allUsers().first { $0.status == .active && !$0.groups.contains(group.index) })
            let before = group.lastMembershipUpdated
            let path = "\(simulator.baseURL)/sim/v1/users/\(user.id)/groups/\(group.id)"
            #expect(try await request(path, method: .PUT).status == 204)
            #expect(try await request(path, method: .DELETE).status == 204)
            #expect(try await request(path, method: .DELETE).status == 404, "no longer a member")
            let everyone = "\(simulator.baseURL)/sim/v1/users/\(user.id)/groups/\(simulator.org.everyoneGroup.id)"
            #expect(try await request(everyone, method: .PUT).status == 400, "Okta manages Everyone")
            let changed = try #require(simulator.org.group(id: group.id))
            #expect(changed.lastMembershipUpdated > before)
            let listed = try await request("\(simulator.baseURL)/api/v1/groups/\(group.id)")
            #expect(listed.json["lastMembershipUpdated"]?.stringValue == changed.lastMembershipUpdated.iso8601)

            let email = try await request(
                "\(simulator.baseURL)/sim/v1/users/\(user.id)/profile", method: .POST,
                body: #"{"email":"new.address@example.org"}"#)
            #expect(email.status == 200)
            await simulator.waitForDeliveries()

            let logged = try await request(
                "\(simulator.baseURL)/api/v1/logs?since=\(since)&sortOrder=ASCENDING&limit=100")
            let events = array(logged)
            let loggedTypes = events.compactMap { $0["eventType"]?.stringValue }
            #expect(loggedTypes.filter { $0.hasPrefix("group.") }.count == 2)
            #expect(loggedTypes.suffix(2) == ["user.account.update_profile", "user.account.update_primary_email"])
            let membership = try #require(events.first { $0["eventType"]?.stringValue?.hasPrefix("group.") == true })
            guard case .array(let targets)? = membership["target"] else {
                Issue.record("no targets")
                return
            }
            #expect(targets.count == 2)
            #expect(targets[0]["type"] == "User")
            #expect(targets[0]["id"]?.stringValue == user.id)
            #expect(targets[0]["alternateId"]?.stringValue == user.login)
            #expect(targets[1]["type"] == "UserGroup")
            #expect(targets[1]["id"]?.stringValue == group.id)
            #expect(targets[1]["displayName"] == "Sales, EMEA")

            let delivered = endpoint.deliveredEvents.compactMap { $0["eventType"]?.stringValue }
            #expect(delivered.filter { $0.hasPrefix("group.user_membership.") }.count == 2)
            #expect(delivered.contains("user.account.update_profile"))
            #expect(!delivered.contains("user.account.update_primary_email"), "not eligible for event hooks")
            // Only a change of the email is one.
            _ = try simulator.org.updateProfile(id: user.id, changes: ["email": "new.address@example.org"])
            let again = try await request(
                "\(simulator.baseURL)/api/v1/logs?since=\(since)&filter=\(encoded("eventType eq \"user.account.update_primary_email\""))"
            )
            #expect(array(again).count == 1)
        }
    }

    @Test func groupsAreCreatedAndDeletedAndANameMayStandForSeveral() async throws {
        try await withSimulator(users: 60) { simulator in
            let control = "\(simulator.baseURL)/sim/v1/groups"
            let imported = try await request(
                control, method: .POST, body: #"{"name":"Engineering","description":"From AD","type":"APP_GROUP"}"#)
            #expect(imported.status == 201, "\(imported.text)")
            #expect(imported.json["type"] == "APP_GROUP")
            #expect(imported.json["profile"]?["dn"] == "CN=Engineering,OU=Groups,DC=corp,DC=example")
            let id = try #require(imported.json["id"]?.stringValue)
            let sameName = try await request(
                "\(simulator.baseURL)/api/v1/groups?search=\(encoded("profile.name eq \"Engineering\""))")
            #expect(array(sameName).count == 2, "an OKTA_GROUP and an APP_GROUP named Engineering")
            let duplicate = try await request(control, method: .POST, body: #"{"name":"engineering"}"#)
            #expect(duplicate.status == 400, "OKTA_GROUP names are unique")

            let members = Array(simulator.org.allUsers().prefix(3))
            for member in members { try simulator.org.addToGroup(userId: member.id, groupId: id) }
            let created = try #require(simulator.org.group(id: id))
            #expect(simulator.org.allMembers(ofGroup: created.index).count == 3)
            #expect(try await request("\(control)/\(id)", method: .DELETE).status == 204)
            #expect(try await request("\(simulator.baseURL)/api/v1/groups/\(id)").status == 404)
            for member in members {
                #expect(simulator.org.groups(ofUser: member.id)?.contains { $0.id == id } == false)
            }
            #expect(try await request("\(control)/\(id)", method: .DELETE).status == 404)
            let everyone = simulator.org.everyoneGroup.id
            #expect(try await request("\(control)/\(everyone)", method: .DELETE).status == 400)
            let lifecycle = try await request(
                "\(simulator.baseURL)/api/v1/logs?since=\(Timestamp(Date().addingTimeInterval(-60)).iso8601)&filter=\(encoded("eventType eq \"group.lifecycle.create\" or eventType eq \"group.lifecycle.delete\""))"
            )
            #expect(
                array(lifecycle).compactMap { $0["eventType"]?.stringValue } == [
                    "group.lifecycle.create", "group.lifecycle.delete",
                ])
        }
    }

    @Test func aDeletedUserLeavesItsGroups() async throws {
        try await withSimulator(users: 30) { simulator in
            let user = try #require(simulator.org.allUsers().first { !$0.groups.isEmpty })
            let group = try #require(user.groups.first)
            try simulator.org.apply(.delete, to: user.id)
            #expect(!simulator.org.allMembers(ofGroup: group).contains { $0.id == user.id })
            #expect(!simulator.org.allMembers(ofGroup: OrgBlueprint.everyoneGroupIndex).contains { $0.id == user.id })
            let gone = try await request("\(simulator.baseURL)/api/v1/users/\(user.id)/groups")
            #expect(gone.status == 404)
        }
    }

    @Test func theOrganizationEndpointNamesTheEngineAndClassicHasNoDevicesAPI() async throws {
        try await withSimulator(users: 30) { simulator in
            let response = try await request("\(simulator.baseURL)/.well-known/okta-organization", token: nil)
            #expect(response.status == 200)
            #expect(response.json["pipeline"] == "idx")
            let id = try #require(response.json["id"]?.stringValue)
            #expect(id.hasPrefix("00o") && id.count == 20)
            #expect(response.json["_links"]?["organization"]?["href"]?.stringValue == simulator.baseURL)
            let user = try #require(simulator.org.allUsers().first { !$0.devices.isEmpty })
            #expect(try await request("\(simulator.baseURL)/api/v1/users/\(user.id)/devices").status == 200)
        }
        try await withSimulator(users: 30, configure: { $0.classic = true }) { simulator in
            let response = try await request("\(simulator.baseURL)/.well-known/okta-organization", token: nil)
            #expect(response.json["pipeline"] == "v1")
            let user = try #require(simulator.org.allUsers().first { !$0.devices.isEmpty })
            for path in ["/api/v1/devices?expand=user", "/api/v1/users/\(user.id)/devices"] {
                let devices = try await request(simulator.baseURL + path)
                #expect(devices.status == 404, "\(path)")
                #expect(devices.json["errorCode"] == "E0000022", "\(path)")
            }
            #expect(try await request("\(simulator.baseURL)/api/v1/users?limit=1").status == 200)
            #expect(simulator.expectedSnapshot(of: user).devices == nil, "device enrichment is skipped")
        }
    }
}
