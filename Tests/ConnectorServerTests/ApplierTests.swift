import AsyncHTTPClient
import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorServer
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Logging
import OktaClient
import OktaSimulator
import Testing

/// The receiver, the applier and the simulator together.
final class ApplierHarness: @unchecked Sendable {
    let receiver: ReceiverHarness
    let simulator: OktaSimulator
    var settings: ConnectorSettings
    let http: HTTPClient
    let client: OktaAPIClient
    let applier: EventApplier

    static func start(
        users: Int = 60, statuses: [OktaUserStatus] = OktaUserStatus.allCases.filter { $0 != .deprovisioned },
        backend: StoreBackend = .sqlite, configure: (inout SimulatorOptions) -> Void = { _ in }
    ) async throws -> ApplierHarness {
        let receiver = try await ReceiverHarness(connectors: [connectorSettings()], backend: backend)
        var options = SimulatorOptions()
        options.users = users
        options.rateLimits = nil
        options.logger.logLevel = .critical
        options.hookTrustRootsPEM = [receiver.certificate.certificatePEM]
        configure(&options)
        let simulator = try await OktaSimulator.start(options)
        return ApplierHarness(receiver: receiver, simulator: simulator, statuses: statuses)
    }

    init(receiver: ReceiverHarness, simulator: OktaSimulator, statuses: [OktaUserStatus]) {
        self.receiver = receiver
        self.simulator = simulator
        settings = connectorSettings(org: simulator.baseURL, statuses: statuses)
        http = HTTPClient(eventLoopGroupProvider: .singleton)
        client = ConnectorAssembly.oktaClient(
            for: settings, httpClient: http, clock: SystemWallClock(), logger: quietLogger)
        applier = EventApplier(
            connector: settings, store: receiver.store, client: client, clock: SystemWallClock(), logger: quietLogger,
            coalescingWindow: 0.05)
    }

    func stop() async {
        await simulator.stop()
        try? await http.shutdown()
    }

    var store: any StateStore { receiver.store }
    var slug: String { settings.slug }

    func reconcile() async throws -> RunRecord {
        try await Reconciler(
            connector: settings, client: client, store: store, clock: SystemWallClock(), logger: quietLogger
        )
        .run(ReconcileOptions(trigger: .manual))
    }

    func stored(_ id: String) async throws -> StoredUser? { try await store.user(connector: slug, id: id) }

    /// Delivers events and applies them.
    func apply(_ events: [String]) async throws {
        #expect(try await receiver.deliver(delivery(events)).status == 200)
        try await applier.applyPending()
    }

    func userCalls() -> Int { simulator.requestCounters.total("GET GET /api/v1/users/{id}") }

    func outboxDepth() async throws -> Int { try await store.outboxStats(connector: slug).depth }

    func expectedHash(_ id: String) -> String? {
        guard let user = simulator.org.user(idOrLogin: id), settings.userStatuses.contains(user.status) else {
            return nil
        }
        return settings.mapper.record(for: simulator.expectedSnapshot(of: user)).contentHash
    }
}

func later(_ seconds: Int) -> String { Timestamp(Date().addingTimeInterval(Double(seconds))).iso8601 }

@Suite("Applying events to user state (SPEC §5)", .serialized, .timeLimit(.minutes(3)))
struct ApplierTests {
    @Test(arguments: StoreBackend.available)
    func loginEventsMoveLastLoginForwardWithoutCallingOkta(_ backend: StoreBackend) async throws {
        let h = try await ApplierHarness.start(backend: backend)
        defer { Task { await h.stop() } }
        _ = try await h.reconcile()
        let user = try #require(h.simulator.org.allUsers().first { $0.status == .active })
        let calls = h.userCalls()
        let t2 = later(120)
        let t1 = later(60)
        // Out of order: the later login arrives first.
        try await h.apply([logEvent("user.session.start", user: user.id, published: t2)])
        try await h.apply([logEvent("user.authentication.sso", user: user.id, published: t1)])
        let stored = try #require(try await h.stored(user.id))
        #expect(stored.snapshot.user.lastLogin?.iso8601 == t2)
        #expect(stored.recordJSON?.contains("\"User.LastLogon\":\"\(t2)\"") == true)
        #expect(h.userCalls() == calls, "no Okta call for logins")
        try await h.apply([logEvent("user.account.update_profile", user: user.id)])
        #expect(h.userCalls() == calls + 1, "a profile event reads the user once")
        #expect(try await h.store.inboxDepth(connector: h.slug) == 0)
    }

    @Test(arguments: StoreBackend.available)
    func eventsInOneBatchAreAppliedInPublishedOrder(_ backend: StoreBackend) async throws {
        let h = try await ApplierHarness.start(backend: backend)
        defer { Task { await h.stop() } }
        _ = try await h.reconcile()
        let user = try #require(h.simulator.org.allUsers().first { $0.status == .active })
        let early = later(10)
        let late = later(20)
        #expect(
            try await h.receiver.deliver(delivery([logEvent("user.session.start", user: user.id, published: late)]))
                .status == 200)
        #expect(
            try await h.receiver.deliver(delivery([logEvent("user.session.start", user: user.id, published: early)]))
                .status == 200)
        try await h.applier.applyPending()
        #expect(try await h.stored(user.id)?.snapshot.user.lastLogin?.iso8601 == late)
    }

    @Test(arguments: StoreBackend.available)
    func lifecyclePasswordProfileAppAndDeviceEventsRefreshFromOkta(_ backend: StoreBackend) async throws {
        let h = try await ApplierHarness.start(backend: backend)
        defer { Task { await h.stop() } }
        _ = try await h.reconcile()
        let org = h.simulator.org
        let active = org.allUsers().filter { $0.status == .active }
        // Lifecycle.
        try org.apply(.suspend, to: active[0].id)
        try await h.apply([logEvent("user.lifecycle.suspend", user: active[0].id)])
        #expect(try await h.stored(active[0].id)?.status == "SUSPENDED")
        // Password: timestamp forward and a status refresh.
        try org.apply(.resetPassword, to: active[1].id)
        let published = later(300)
        try await h.apply([logEvent("user.account.reset_password", user: active[1].id, published: published)])
        #expect(try await h.stored(active[1].id)?.snapshot.user.passwordChanged?.iso8601 == published)
        // Profile.
        try org.updateProfile(id: active[2].id, changes: ["title": "Event Driven"])
        try await h.apply([logEvent("user.account.update_profile", user: active[2].id)])
        #expect(try await h.stored(active[2].id)?.recordHash == h.expectedHash(active[2].id))
        // Apps, directly and through a group.
        let app = (0..<OktaSimulator.appCount).first { !active[3].directApps.contains($0) }!
        try org.assignApp(userId: active[3].id, appIndex: app)
        try await h.apply([logEvent("application.user_membership.add", user: active[3].id)])
        #expect(try await h.stored(active[3].id)?.recordHash == h.expectedHash(active[3].id))
        let group = (1..<12).first { !active[4].groups.contains($0) }!
        try org.addToGroup(userId: active[4].id, groupIndex: group)
        try await h.apply([logEvent("group.user_membership.add", user: active[4].id)])
        #expect(try await h.stored(active[4].id)?.recordHash == h.expectedHash(active[4].id))
        // Devices.
        try org.addDevice(userId: active[5].id, platform: "ANDROID", displayName: "Pixel", osVersion: "15")
        try await h.apply([logEvent("device.user.add", user: active[5].id)])
        #expect(try await h.stored(active[5].id)?.recordJSON?.contains("\"Device.Name\":\"Pixel\"") == true)
        #expect(try await h.stored(active[5].id)?.recordHash == h.expectedHash(active[5].id))
    }

    /// Groups and scope by group against the simulator (SPEC §19): the reconcile keeps exactly the
    /// members of the listed group, with their groups mapped; membership events import and remove
    /// a user at once, and the next run confirms.
    @Test(arguments: StoreBackend.available)
    func scopeByGroupIsExactAndFollowsMembershipEvents(_ backend: StoreBackend) async throws {
        // Stored users by id and record hash.
        typealias Hashes = [String: String?]
        let h = try await ApplierHarness.start(users: 120, backend: backend)
        defer { Task { await h.stop() } }
        let org = h.simulator.org
        let sales = try #require(org.groups().first { $0.name == "Sales, EMEA" })
        h.settings.enrich.groups = true
        h.settings.scopeGroups = ["Sales, EMEA"]
        func truth() -> Hashes {
            var result: Hashes = [:]
            for user in org.allUsers() where h.settings.userStatuses.contains(user.status) {
                guard h.simulator.expectedGroups(of: user).contains(where: { $0.id == sales.id }) else { continue }
                result[user.id] =
                    h.settings.mapper.record(for: h.simulator.expectedSnapshot(of: user, groups: true))
                    .contentHash
            }
            return result
        }
        func stored() async throws -> Hashes {
            Dictionary(
                uniqueKeysWithValues: try await h.store.presentUsers(connector: h.slug, after: nil, limit: 10_000).map {
                    ($0.userId, $0.recordHash)
                })
        }
        let run = try await h.reconcile()
        #expect(run.outcome == .succeeded, "\(run.errors)")
        let expected = truth()
        #expect(!expected.isEmpty && expected.count < org.allUsers().count, "a scope, not everyone")
        #expect(try await stored() == expected, "exactly the group's members, groups mapped")

        let applier = EventApplier(
            connector: h.settings, store: h.store, client: h.client, clock: SystemWallClock(), logger: quietLogger,
            coalescingWindow: 0.05)
        let outsider = try #require(
            org.allUsers().first { $0.status == .active && expected[$0.id] == nil })
        try org.addToGroup(userId: outsider.id, groupId: sales.id)
        let started = Date()
        #expect(
            try await h.receiver.deliver(delivery([logEvent("group.user_membership.add", user: outsider.id)])).status
                == 200)
        try await applier.applyPending()
        #expect(try await h.stored(outsider.id)?.isPresent == true, "imported at once")
        let member = try #require(
            expected.keys.sorted().first { id in
                h.simulator.expectedGroups(of: org.user(idOrLogin: id)!).count > 1 && id != outsider.id
            })
        try org.removeFromGroup(userId: member, groupId: sales.id)
        #expect(
            try await h.receiver.deliver(delivery([logEvent("group.user_membership.remove", user: member)])).status
                == 200)
        try await applier.applyPending()
        #expect(try await h.stored(member)?.isPresent == false, "removed at once")
        print(
            "scope by group: \(expected.count) members kept of \(org.allUsers().count); two membership events applied in \(String(format: "%.2f", Date().timeIntervalSince(started))) s"
        )
        let confirmed = try await h.reconcile()
        #expect(confirmed.counts.created == 0 && confirmed.counts.removed == 0 && confirmed.counts.updated == 0)
        #expect(try await stored() == truth())
    }

    @Test(arguments: StoreBackend.available)
    func deletionsNotFoundAndUnselectedStatusesRemoveDownstream(_ backend: StoreBackend) async throws {
        let h = try await ApplierHarness.start(backend: backend)
        defer { Task { await h.stop() } }
        _ = try await h.reconcile()
        let org = h.simulator.org
        let active = org.allUsers().filter { $0.status == .active }
        // A forged delete (it needs only the shared secret) leaves an ACTIVE user in place.
        let queued = try await h.outboxDepth()
        try await h.apply([logEvent("user.lifecycle.delete.initiated", user: active[0].id)])
        #expect(try await h.stored(active[0].id)?.isPresent == true, "Okta has the user ACTIVE")
        #expect(try await h.outboxDepth() == queued, "nothing forwarded")
        try org.apply(.delete, to: active[0].id)
        try await h.apply([logEvent("user.lifecycle.delete.initiated", user: active[0].id)])
        #expect(try await h.stored(active[0].id)?.isPresent == false)
        // Deleted in Okta; the event that reaches us asks for a refresh: 404 E0000007 removes.
        try org.apply(.delete, to: active[1].id)
        try await h.apply([logEvent("user.account.update_profile", user: active[1].id)])
        #expect(try await h.stored(active[1].id)?.isPresent == false)
        // Deactivated: DEPROVISIONED is not selected.
        try org.apply(.deactivate, to: active[2].id)
        try await h.apply([logEvent("user.lifecycle.deactivate", user: active[2].id)])
        let removed = try #require(try await h.stored(active[2].id))
        #expect(!removed.isPresent)
        let deletes = try await h.store.pendingOutbox(connector: h.slug, limit: 10_000).filter {
            $0.operation == .delete
        }
        #expect(Set(deletes.map(\.userId)) == Set(active.prefix(3).map(\.id)))
    }

    @Test(arguments: StoreBackend.available)
    func unknownFailedAndNoOpEventsChangeNothing(_ backend: StoreBackend) async throws {
        let h = try await ApplierHarness.start(backend: backend)
        defer { Task { await h.stop() } }
        _ = try await h.reconcile()
        let user = try #require(h.simulator.org.allUsers().first { $0.status == .active })
        let depth = try await h.outboxDepth()
        try await h.apply([
            logEvent("policy.lifecycle.update", user: user.id),
            logEvent("user.session.start", user: user.id, published: later(60), result: "FAILURE"),
            logEvent("user.account.update_profile", user: user.id),  // nothing changed in Okta
        ])
        #expect(try await h.outboxDepth() == depth, "an identical record queues nothing")
        #expect(h.applier.counts.unknownTypes == 1)
        #expect(h.applier.counts.notSuccessful == 1)
        #expect(try await h.store.inboxDepth(connector: h.slug) == 0, "all marked applied, and kept in the inbox table")
    }

    @Test(arguments: StoreBackend.available)
    func unappliedEventsAreAppliedAfterARestart(_ backend: StoreBackend) async throws {
        let h = try await ApplierHarness.start(backend: backend)
        defer { Task { await h.stop() } }
        _ = try await h.reconcile()
        let user = try #require(h.simulator.org.allUsers().first { $0.status == .active })
        try h.simulator.org.updateProfile(id: user.id, changes: ["title": "After Restart"])
        #expect(
            try await h.receiver.deliver(delivery([logEvent("user.account.update_profile", user: user.id)])).status
                == 200)
        // A new applier, as after a crash, finds the unapplied row.
        let restarted = EventApplier(
            connector: h.settings, store: h.store, client: h.client, clock: SystemWallClock(), logger: quietLogger)
        #expect(try await restarted.applyPending() == 1)
        #expect(try await h.stored(user.id)?.recordHash == h.expectedHash(user.id))
    }

    /// Rows nobody in this process announces — stored by another replica's receiver, or by a commit
    /// that finished after the receiver answered 503 — are found by the applier's own next look.
    @Test(arguments: StoreBackend.available)
    func eventsStoredWithoutAWakeUpAreAppliedAtTheNextLook(_ backend: StoreBackend) async throws {
        let h = try await ApplierHarness.start(backend: backend)
        defer { Task { await h.stop() } }
        _ = try await h.reconcile()
        let clock = ManualClock(now: Date())
        let applier = EventApplier(
            connector: h.settings, store: h.store, client: h.client, clock: clock, logger: quietLogger,
            coalescingWindow: 0, idleWait: 1)
        let service = Task { try await applier.run() }
        defer { service.cancel() }
        #expect(await clock.waitForSleepers(), "the applier waits while the inbox is empty")
        let user = try #require(h.simulator.org.allUsers().first { $0.status == .active })
        try h.simulator.org.updateProfile(id: user.id, changes: ["title": "Stored Elsewhere"])
        // The receiver stores the delivery but nobody wakes this applier.
        #expect(
            try await h.receiver.deliver(delivery([logEvent("user.account.update_profile", user: user.id)])).status
                == 200)
        #expect(try await h.store.inboxDepth(connector: h.slug) == 1)
        #expect(clock.nextDeadline.map { $0 <= clock.now.addingTimeInterval(1) } == true, "a look within 1 s")
        clock.advance(by: 1)
        let applied = try await eventually(timeout: 30) {
            try await h.store.inboxDepth(connector: h.slug) == 0
        }
        #expect(applied, "applied at the next look, without a wake-up")
        #expect(try await h.stored(user.id)?.recordHash == h.expectedHash(user.id))
    }

    @Test(arguments: StoreBackend.available)
    func simulatorChangesArriveThroughTheHookAndAReconcileRepairsDroppedOnes(_ backend: StoreBackend) async throws {
        let h = try await ApplierHarness.start(users: 80, backend: backend)
        defer { Task { await h.stop() } }
        _ = try await h.reconcile()
        // Register and verify the hook in the simulator, as `hooks register` does.
        let registered = try await EventHookRegistrar.register(
            connector: h.settings, publicURL: URL(string: h.receiver.url("/hooks/okta/test-org"))!, client: h.client)
        #expect(registered.verificationError == nil)
        #expect(registered.hook.verificationStatus == "VERIFIED")
        #expect(!registered.updated)
        // Registering again replaces the hook: the new one verified, the earlier one removed.
        let again = try await EventHookRegistrar.register(
            connector: h.settings, publicURL: URL(string: h.receiver.url("/hooks/okta/test-org"))!, client: h.client)
        #expect(again.updated)
        #expect(again.replaced.map(\.id) == [registered.hook.id])
        #expect(h.simulator.eventHooks.count == 1)
        let service = Task { try await h.applier.run() }
        defer { service.cancel() }
        let wake = Task {
            while !Task.isCancelled {
                if !h.receiver.woken.all.isEmpty { h.applier.wake() }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        defer { wake.cancel() }
        let org = h.simulator.org
        let active = org.allUsers().filter { $0.status == .active }
        try org.updateProfile(id: active[0].id, changes: ["title": "Live"])
        // Usually well within a second; the bound is loose because a loaded CI machine is slow.
        let arrived = try await eventually(timeout: 30) {
            try await h.stored(active[0].id)?.recordHash == h.expectedHash(active[0].id)
        }
        #expect(arrived, "a change in Okta reaches the store through the hook")

        // Drop 30% of deliveries; one user per delivery so that each drop is one user's drift.
        h.simulator.hookBehaviour = HookBehaviour(dropRate: 0.3, seed: 5)
        for (index, user) in active.dropFirst(1).prefix(20).enumerated() {
            switch index % 3 {
            case 0: try org.recordLogin(userId: user.id)
            case 1: try org.updateProfile(id: user.id, changes: ["title": .string("Changed \(index)")])
            default: try org.apply(.suspend, to: user.id)
            }
            await h.simulator.waitForDeliveries()
        }
        let dropped = h.simulator.hookStats.droppedUserIds
        #expect(!dropped.isEmpty)
        #expect(
            try await eventually(timeout: 30) { try await h.store.inboxDepth(connector: h.slug) == 0 },
            "waited for in time")
        let run = try await h.reconcile()
        #expect(run.drift == dropped.count, "drift \(run.drift), dropped \(dropped.count)")
        for user in org.allUsers() where h.settings.userStatuses.contains(user.status) {
            #expect(try await h.stored(user.id)?.recordHash == h.expectedHash(user.id))
        }
    }
}
