import AsyncHTTPClient
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Hummingbird
import OktaClient
import Synchronization
import Testing

/// `User.Groups` (SPEC §8, §19) against an in-memory Okta: both enrichment plans, membership
/// events, an OAuth app without `okta.groups.read`, and a Classic Engine org without devices.
@Suite("Real orgs: groups, the optional groups scope, Classic Engine (SPEC §19)", .timeLimit(.minutes(3)))
struct GroupsTests {
    static let sales = OktaGroup(id: "00gB", type: "OKTA_GROUP", name: "Sales, EMEA")
    static let quoted = OktaGroup(id: "00gA", type: "OKTA_GROUP", name: #""Quoted" Group"#)
    static let domainUsers = OktaGroup(
        id: "00gC", type: "APP_GROUP", name: "CN=Domain Users,OU=Groups,DC=corp,DC=example")
    /// A second group of the same name: told apart by id in the sorted list.
    static let salesAgain = OktaGroup(id: "00gD", type: "OKTA_GROUP", name: "Sales, EMEA")

    func connector(plan: EnrichSettings.Plan, scope: [String] = []) async throws -> MemoryConnector {
        let connector = try await MemoryConnector(
            maxRemovalShare: 1, enrich: EnrichSettings(apps: true, devices: false, groups: true, plan: plan),
            scopeGroups: scope)
        connector.okta.put(
            InMemoryOkta.user("00u1"), groups: [Self.sales, Self.quoted, Self.domainUsers, Self.salesAgain])
        connector.okta.put(InMemoryOkta.user("00u2"), groups: [Self.domainUsers])
        connector.okta.put(InMemoryOkta.user("00u3"))
        return connector
    }

    func groups(_ connector: MemoryConnector, _ id: String) async throws -> JSONValue? {
        let json = try #require(try await connector.stored(id)?.recordJSON)
        return try JSONCoding.decode(JSONValue.self, from: json)["User.Groups"]
    }

    static func entry(_ group: OktaGroup) -> JSONValue {
        ["GroupName": .string(group.name), "GroupId": .string(group.id)]
    }

    @Test(arguments: [EnrichSettings.Plan.perUser, .bulk])
    func groupsAreMappedSortedByNameThenIdWithoutEveryone(_ plan: EnrichSettings.Plan) async throws {
        let c = try await connector(plan: plan)
        #expect(try await c.reconcile().outcome == .succeeded)
        #expect(
            try await groups(c, "00u1")
                == .array([Self.quoted, Self.domainUsers, Self.sales, Self.salesAgain].map(Self.entry)))
        #expect(try await groups(c, "00u2") == .array([Self.entry(Self.domainUsers)]))
        #expect(try await groups(c, "00u3") == .array([]), "gathered, none but Everyone")
        if plan == .bulk {
            #expect(c.okta.calls(InMemoryOkta.Endpoint.groups) == 1)
            #expect(c.okta.calls(InMemoryOkta.Endpoint.groupUsers) == 4, "each group but Everyone, once")
            #expect(c.okta.calls(InMemoryOkta.Endpoint.userGroups) == 0)
        } else {
            #expect(c.okta.calls(InMemoryOkta.Endpoint.userGroups) == 3)
            #expect(c.okta.calls(InMemoryOkta.Endpoint.groups) == 0)
        }
    }

    @Test func bothPlansWriteTheSameRecordsAndAnUnchangedOrgWritesNothing() async throws {
        let perUser = try await connector(plan: .perUser)
        let bulk = try await connector(plan: .bulk)
        #expect(try await perUser.reconcile().outcome == .succeeded)
        #expect(try await bulk.reconcile().outcome == .succeeded)
        for id in ["00u1", "00u2", "00u3"] {
            #expect(try await perUser.stored(id)?.recordHash == bulk.stored(id)?.recordHash, "\(id)")
        }
        let again = try await bulk.reconcile()
        #expect(again.counts.unchanged == 3)
        #expect(again.drift == 0)
        // One membership changed in Okta without an event: the next run corrects exactly that user.
        bulk.okta.setGroups("00u3", [Self.quoted])
        let corrected = try await bulk.reconcile()
        #expect(corrected.counts.updated == 1)
        #expect(try await groups(bulk, "00u3") == .array([Self.entry(Self.quoted)]))
    }

    @Test func membershipEventsUpdateTheUsersGroupsAtOnceWithOneRead() async throws {
        let c = try await connector(plan: .perUser)
        #expect(try await c.reconcile().outcome == .succeeded)
        let queued = try await c.queued().count
        let reads = c.okta.calls(InMemoryOkta.Endpoint.userGroups)
        c.okta.setGroups("00u2", [Self.domainUsers, Self.sales])
        try await c.apply([memoryEvent("group.user_membership.add", user: "00u2")])
        #expect(
            try await groups(c, "00u2") == .array([Self.domainUsers, Self.sales].map(Self.entry)))
        #expect(c.okta.calls(InMemoryOkta.Endpoint.userGroups) == reads + 1)
        #expect(try await c.queued().count == queued + 1)
        c.okta.setGroups("00u2", [])
        try await c.apply([memoryEvent("group.user_membership.remove", user: "00u2")])
        #expect(try await groups(c, "00u2") == .array([]))
        // A login reads nothing, groups included.
        let calls = c.okta.callCounts.total
        try await c.apply([memoryEvent("user.session.start", user: "00u2")])
        #expect(c.okta.callCounts.total == calls)
    }

    @Test func withoutTheGroupsScopeRecordsCarryNoGroupsAndNoGroupCallIsMade() async throws {
        for plan in [EnrichSettings.Plan.perUser, .bulk] {
            let c = try await connector(plan: plan)
            c.okta.setMissingScopes(["okta.groups.read"])
            let run = try await c.reconcile()
            #expect(run.outcome == .succeeded)
            #expect(try await groups(c, "00u1") == nil, "no User.Groups at all, not an empty list")
            #expect(c.okta.calls(InMemoryOkta.Endpoint.groups) == 0)
            #expect(c.okta.calls(InMemoryOkta.Endpoint.userGroups) == 0)
            try await c.apply([memoryEvent("group.user_membership.add", user: "00u1")])
            #expect(c.okta.calls(InMemoryOkta.Endpoint.userGroups) == 0)
            // Granted later: the next run adds the groups.
            c.okta.setMissingScopes([])
            #expect(try await c.reconcile().counts.updated == 3)
            #expect(try await groups(c, "00u2") == .array([Self.entry(Self.domainUsers)]))
        }
    }

    @Test(arguments: [EnrichSettings.Plan.perUser, .bulk])
    func aClassicEngineOrgIsReconciledWithoutDeviceCalls(_ plan: EnrichSettings.Plan) async throws {
        let c = try await MemoryConnector(enrich: EnrichSettings(apps: true, devices: true, groups: true, plan: plan))
        c.okta.put(
            InMemoryOkta.user("00u1"),
            devices: [
                OktaUserDevice(
                    created: nil,
                    device: OktaDevice(
                        id: "guo1", status: "ACTIVE", profile: OktaDevice.Profile(displayName: "Mac", platform: "MACOS")
                    ))
            ])
        c.okta.setClassic(true)
        let run = try await c.reconcile()
        #expect(run.outcome == .succeeded, "\(run.errors)")
        #expect(c.okta.calls(InMemoryOkta.Endpoint.devices) == 0)
        #expect(c.okta.calls(InMemoryOkta.Endpoint.listDevices) == 0)
        let json = try #require(try await c.stored("00u1")?.recordJSON)
        #expect(!json.contains("User.Devices"), "left out, not an empty list")
        #expect(json.contains("User.Groups"))
        try await c.apply([memoryEvent("device.user.add", user: "00u1")])
        #expect(c.okta.calls(InMemoryOkta.Endpoint.devices) == 0, "events do not call the Devices API either")
        // The same org on Identity Engine: devices are read.
        c.okta.setClassic(false)
        #expect(try await c.reconcile().counts.updated == 1)
        #expect(try await c.stored("00u1")?.recordJSON?.contains("User.Devices") == true)
    }

    @Test(arguments: [EnrichSettings.Plan.perUser, .bulk])
    func aScopeByGroupKeepsMembersOnlyAndFollowsMembershipEvents(_ plan: EnrichSettings.Plan) async throws {
        // By name and by id; 00u3 is in neither group.
        let c = try await connector(plan: plan, scope: [#""Quoted" Group"#, "00gC"])
        let run = try await c.reconcile()
        #expect(run.outcome == .succeeded, "\(run.errors)")
        #expect(try await c.stored("00u1")?.isPresent == true)
        #expect(try await c.stored("00u2")?.isPresent == true)
        #expect(try await c.stored("00u3") == nil, "never imported")
        #expect(run.counts.created == 2)
        if plan == .perUser {
            #expect(c.okta.calls(InMemoryOkta.Endpoint.appLinks) == 2, "users out of scope are not enriched")
        }
        // Added to a listed group: imported at once.
        c.okta.setGroups("00u3", [Self.quoted])
        try await c.apply([memoryEvent("group.user_membership.add", user: "00u3")])
        #expect(try await c.stored("00u3")?.isPresent == true)
        // Removed from the last listed group: removed at once.
        c.okta.setGroups("00u2", [])
        try await c.apply([memoryEvent("group.user_membership.remove", user: "00u2")])
        #expect(try await c.stored("00u2")?.isPresent == false)
        let removal = try #require(try await c.queued().last)
        #expect(removal.userId == "00u2" && removal.operation == .delete)
        // The next run confirms: nothing to change.
        let confirmed = try await c.reconcile()
        #expect(confirmed.counts.created == 0 && confirmed.counts.removed == 0 && confirmed.counts.updated == 0)
        // Out of scope without an event (missed): the run removes it, as not in scope.
        c.okta.setGroups("00u1", [Self.sales])
        let swept = try await c.reconcile()
        #expect(swept.counts.removed == 1)
        #expect(try await c.stored("00u1")?.isPresent == false)
    }

    @Test func aGroupThatIsUnknownAmbiguousOrEveryoneFailsTheRunAndRemovesNobody() async throws {
        let cases: [(scope: String, says: String)] = [
            ("Sales, EMEA", "2 Okta groups are named \"Sales, EMEA\" (00gB, 00gD)"),
            ("Sales", "no Okta group has the name or id \"Sales\""),
            ("Everyone", "built-in group of every user"),
        ]
        for (scope, says) in cases {
            var c = try await connector(plan: .perUser)
            c.okta.put(InMemoryOkta.user("00u4"), groups: [Self.salesAgain])
            #expect(try await c.reconcile().counts.created == 4)
            c.settings.scopeGroups = [#""Quoted" Group"#, scope]
            let run = try await c.reconcile()
            #expect(run.outcome == .failed)
            #expect(run.errors.joined().contains(says), "\(run.errors)")
            #expect(run.counts.removed == 0)
            for id in ["00u1", "00u2", "00u3", "00u4"] { #expect(try await c.stored(id)?.isPresent == true) }
            // The applier holds events rather than decide on a scope it cannot resolve.
            try await c.apply([memoryEvent("user.account.update_profile", user: "00u3")])
            #expect(try await c.stored("00u3")?.isPresent == true)
            #expect(try await c.store.failedEventCount(connector: c.slug) + c.store.inboxDepth(connector: c.slug) == 1)
        }
    }

    /// An org whose `/.well-known/okta-organization` fails (here `500`) is taken for Identity Engine,
    /// and the endpoint is asked again an hour later, not on every device event (SPEC §19).
    @Test func aFailedEngineProbeIsNotRepeatedForAnHour() async throws {
        let asked = Mutex(0)
        let router = Router()
        router.get("/.well-known/okta-organization") { _, _ -> Response in
            asked.withLock { $0 += 1 }
            return Response(status: .internalServerError)
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: quietLogger)
        let server = Task { try await app.run() }
        defer { server.cancel() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        let clock = ManualClock(now: Date())
        let client = OktaAPIClient(
            orgURL: URL(string: "http://127.0.0.1:\(port)")!,
            credentials: OktaCredentialsProvider(
                method: .apiToken(Secret("t")), orgURL: URL(string: "http://127.0.0.1:\(port)")!,
                httpClient: .shared, clock: clock),
            httpClient: .shared, limiter: OktaRateLimiter(share: 1, clock: clock), clock: clock, logger: quietLogger)
        for _ in 0..<5 { #expect(await client.isClassicEngine() == false) }
        #expect(asked.withLock { $0 } == 1, "one probe, then the answer stands")
        clock.advance(by: 3601)
        #expect(await client.isClassicEngine() == false)
        #expect(asked.withLock { $0 } == 2, "asked again after an hour")
    }

    @Test func membershipEventsAreSubscribedAndPrimaryEmailChangesArePolled() {
        #expect(OktaLogEvent.subscribedEventTypes.contains("group.user_membership.add"))
        #expect(OktaLogEvent.subscribedEventTypes.contains("group.user_membership.remove"))
        #expect(!OktaLogEvent.subscribedEventTypes.contains("user.account.update_primary_email"), "not hook-eligible")
        #expect(OktaLogEvent.polledEventTypes.contains("user.account.update_primary_email"))
    }
}
