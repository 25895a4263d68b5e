import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import OktaClient
import OktaSimulator
import Testing

enum SimulatorCatalogueSize {
    static let apps = OktaSimulator.appCount
}

@Suite("Full reconcile against the simulator (SPEC §6)", .timeLimit(.minutes(5)))
struct ReconcilerTests {
    @Test(arguments: StoreBackend.available, [EnrichSettings.Plan.bulk, .perUser])
    func aFullReconcileProducesExactlyTheExpectedRecords(_ backend: StoreBackend, _ plan: EnrichSettings.Plan)
        async throws
    {
        try await withConnector(users: 250, plan: plan, backend: backend) { harness in
            let run = try await harness.reconcile(ReconcileOptions(trigger: .startup))
            #expect(run.outcome == .succeeded, "\(run.errors)")
            let expected = harness.expectedHashes()
            #expect(run.counts.listed == expected.count)
            #expect(run.counts.created == expected.count)
            #expect(run.drift == 0, "the first run is not drift")
            #expect(try await harness.storedHashes() == expected)
            #expect(try await harness.outboxDepth() == expected.count)
            if plan == .bulk {
                #expect(run.oktaCalls["GET /api/v1/apps"] == 1)
                #expect(run.oktaCalls["GET /api/v1/apps/{id}/users"] ?? 0 >= SimulatorCatalogueSize.apps)
                #expect(run.oktaCalls["GET /api/v1/devices"] ?? 0 >= 1)
                #expect(run.oktaCalls["GET /api/v1/users/{id}/appLinks"] == nil)
                #expect(run.oktaCalls["GET /api/v1/groups"] == 1)
                #expect(run.oktaCalls["GET /api/v1/groups/{id}/users"] ?? 0 >= harness.simulator.org.groups().count - 1)
                #expect(run.oktaCalls["GET /api/v1/users/{id}/groups"] == nil)
            } else {
                #expect(run.oktaCalls["GET /api/v1/users/{id}/appLinks"] == expected.count)
                #expect(run.oktaCalls["GET /api/v1/users/{id}/devices"] == expected.count)
                #expect(run.oktaCalls["GET /api/v1/users/{id}/groups"] == expected.count)
            }
            // Mapping spot check: apps and devices made it into the records.
            let withDevices = try #require(
                harness.simulator.org.allUsers().first { !$0.devices.isEmpty && $0.status == .active })
            let stored = try #require(
                try await harness.store.user(connector: harness.settings.slug, id: withDevices.id))
            #expect(stored.recordJSON?.contains("\"User.Devices\":[{") == true)
            #expect(stored.recordJSON?.contains("\"User.AssignedApps\":[{") == true)
            let grouped = try #require(
                harness.simulator.org.allUsers().first {
                    $0.status == .active
                        && harness.simulator.expectedGroups(of: $0).contains { $0.name == "Sales, EMEA" }
                })
            let record = try #require(try await harness.store.user(connector: harness.settings.slug, id: grouped.id))
            #expect(record.recordJSON?.contains(#"{"GroupId":"#) == true)
            #expect(record.recordJSON?.contains(#""GroupName":"Sales, EMEA""#) == true)
            #expect(record.recordJSON?.contains("Everyone") == false)
        }
    }

    @Test(arguments: StoreBackend.available)
    func aSecondReconcileOfAnUnchangedOrgWritesAndQueuesNothing(_ backend: StoreBackend) async throws {
        try await withConnector(users: 150, backend: backend) { harness in
            _ = try await harness.reconcile()
            let depth = try await harness.outboxDepth()
            let second = try await harness.reconcile()
            #expect(second.outcome == .succeeded)
            #expect(second.counts.unchanged == second.counts.listed)
            #expect(second.counts.created + second.counts.updated + second.counts.removed == 0)
            #expect(second.drift == 0)
            #expect(try await harness.outboxDepth() == depth)
        }
    }

    @Test(arguments: StoreBackend.available)
    func afterChangesInOktaOnlyTheChangedUsersAreQueuedAndCountedAsDrift(_ backend: StoreBackend) async throws {
        try await withConnector(users: 150, backend: backend) { harness in
            _ = try await harness.reconcile()
            let depth = try await harness.outboxDepth()
            let org = harness.simulator.org
            let active = org.allUsers().filter { $0.status == .active }
            try org.updateProfile(id: active[0].id, changes: ["title": "Chief Drift Officer"])
            try org.assignApp(userId: active[1].id, appIndex: (active[1].directApps.first.map { ($0 + 1) % 24 }) ?? 3)
            try org.addDevice(userId: active[2].id, platform: "MACOS", displayName: "New Mac", osVersion: "15.1")
            try org.apply(.suspend, to: active[3].id)
            try org.recordLogin(userId: active[4].id)
            let run = try await harness.reconcile()
            #expect(run.counts.updated == 5)
            #expect(run.drift == 5)
            let queue = try await harness.store.pendingOutbox(connector: harness.settings.slug, limit: 10_000)
            #expect(Set(queue.dropFirst(depth).map(\.userId)) == Set(active.prefix(5).map(\.id)))
            #expect(try await harness.storedHashes() == harness.expectedHashes())
        }
    }

    @Test(arguments: StoreBackend.available)
    func usersLeavingTheSelectionOrDeletedAreRemoved(_ backend: StoreBackend) async throws {
        try await withConnector(users: 150, backend: backend) { harness in
            _ = try await harness.reconcile()
            let org = harness.simulator.org
            let active = org.allUsers().filter { $0.status == .active }
            try org.apply(.deactivate, to: active[0].id)  // DEPROVISIONED is not selected
            try org.apply(.delete, to: active[1].id)
            let run = try await harness.reconcile()
            #expect(run.outcome == .succeeded)
            #expect(run.counts.removed == 2)
            for id in [active[0].id, active[1].id] {
                let stored = try await harness.store.user(connector: harness.settings.slug, id: id)
                #expect(stored?.isPresent == false)
            }
            let deletes = try await harness.store.pendingOutbox(connector: harness.settings.slug, limit: 10_000)
                .filter { $0.operation == .delete }
            #expect(Set(deletes.map(\.userId)) == [active[0].id, active[1].id])
        }
    }

    @Test(arguments: StoreBackend.available)
    func aDeprovisionedUserIsRemovedOnceItsStatusIsNoLongerSelected(_ backend: StoreBackend) async throws {
        try await withConnector(users: 120, statuses: OktaUserStatus.allCases, backend: backend) { harness in
            let user = try #require(harness.simulator.org.allUsers().first { $0.status == .active })
            try harness.simulator.org.apply(.deactivate, to: user.id)
            _ = try await harness.reconcile()
            #expect(
                try await harness.store.user(connector: harness.settings.slug, id: user.id)?.status == "DEPROVISIONED")
            harness.settings.userStatuses = OktaUserStatus.allCases.filter { $0 != .deprovisioned }
            harness.settings.reconcile.maxRemovalShare = 1
            let run = try await harness.reconcile()
            #expect(try await harness.store.user(connector: harness.settings.slug, id: user.id)?.isPresent == false)
            #expect(run.counts.removed == harness.simulator.org.allUsers().filter { $0.status == .deprovisioned }.count)
        }
    }

    @Test(arguments: StoreBackend.available)
    func aFailedListingRemovesNothing(_ backend: StoreBackend) async throws {
        try await withConnector(users: 600, backend: backend) { harness in
            _ = try await harness.reconcile()
            let present = try await harness.store.presentUserCount(connector: harness.settings.slug)
            try harness.simulator.org.apply(
                .delete, to: harness.simulator.org.allUsers().first { $0.status == .active }!.id)
            // Server errors past the retries on the second page of users.
            harness.simulator.faults = FaultPlan(pathPrefix: "/api/v1/users", serverErrors: 0, serverErrorRate: 1)
            let failed = try await harness.reconcile()
            #expect(failed.outcome == .failed)
            #expect(failed.errors.first?.contains("500") == true || failed.errors.first?.contains("503") == true)
            #expect(try await harness.store.presentUserCount(connector: harness.settings.slug) == present)
            // A repeated cursor stops the run, again removing nothing.
            harness.simulator.faults = FaultPlan(repeatNextCursorFromPage: 2)
            let repeated = try await harness.reconcile()
            #expect(repeated.outcome == .failed)
            #expect(repeated.errors.first?.contains("same next link") == true)
            #expect(try await harness.store.presentUserCount(connector: harness.settings.slug) == present)
            // A malformed page fails the run too.
            harness.simulator.faults = FaultPlan(malformedPages: 1)
            let malformed = try await harness.reconcile()
            #expect(malformed.outcome == .failed)
            #expect(try await harness.store.presentUserCount(connector: harness.settings.slug) == present)
        }
    }

    @Test(arguments: StoreBackend.available)
    func theCircuitBreakerHoldsARunThatWouldRemoveMostUsers(_ backend: StoreBackend) async throws {
        try await withConnector(users: 100, backend: backend) { harness in
            _ = try await harness.reconcile()
            let present = try await harness.store.presentUserCount(connector: harness.settings.slug)
            for user in harness.simulator.org.allUsers().prefix(60) {
                try harness.simulator.org.apply(.delete, to: user.id)
            }
            let held = try await harness.reconcile()
            #expect(held.outcome == .held)
            #expect(held.errors.first?.contains("--confirm-removals") == true)
            #expect(held.counts.removed == 0)
            #expect(try await harness.store.presentUserCount(connector: harness.settings.slug) == present)
            let confirmed = try await harness.reconcile(ReconcileOptions(trigger: .manual, confirmRemovals: true))
            #expect(confirmed.outcome == .succeeded)
            #expect(try await harness.storedHashes() == harness.expectedHashes())
        }
    }

    @Test(arguments: StoreBackend.available)
    func aDryRunReportsWithoutWriting(_ backend: StoreBackend) async throws {
        try await withConnector(users: 100, backend: backend) { harness in
            let dry = try await harness.reconcile(ReconcileOptions(trigger: .manual, dryRun: true))
            #expect(dry.dryRun)
            #expect(dry.counts.created == harness.expectedHashes().count)
            #expect(try await harness.store.presentUserCount(connector: harness.settings.slug) == 0)
            #expect(try await harness.outboxDepth() == 0)
            _ = try await harness.reconcile()
            try harness.simulator.org.updateProfile(
                id: harness.simulator.org.allUsers().first { $0.status == .active }!.id, changes: ["title": "X"])
            let depth = try await harness.outboxDepth()
            let second = try await harness.reconcile(ReconcileOptions(trigger: .manual, dryRun: true))
            #expect(second.counts.updated == 1)
            #expect(try await harness.outboxDepth() == depth)
        }
    }

    @Test(arguments: StoreBackend.available)
    func invalidCredentialsFailAtOnceWithAClearMessage(_ backend: StoreBackend) async throws {
        try await withConnector(users: 20, backend: backend) { harness in
            harness.settings.okta.credentials = .apiToken(Secret("wrong-token"))
            let run = try await harness.reconcile()
            #expect(run.outcome == .failed)
            #expect(run.errors.first?.contains("401") == true)
            #expect(run.errors.first?.contains("okta.api_token") == true)
            #expect(run.oktaCalls.values.reduce(0, +) == 1, "no retries")
        }
    }

    @Test(arguments: StoreBackend.available)
    func runsAreRecordedAndQueryable(_ backend: StoreBackend) async throws {
        try await withConnector(users: 30, backend: backend) { harness in
            let first = try await harness.reconcile(ReconcileOptions(trigger: .startup))
            let second = try await harness.reconcile(ReconcileOptions(trigger: .schedule))
            let runs = try await harness.store.runs(connector: harness.settings.slug, limit: 10)
            #expect(runs.map(\.id) == [second.id, first.id])
            #expect(runs[1].trigger == .startup)
            #expect(runs[0].endedAt != nil)
            #expect(runs[0].oktaCalls["GET /api/v1/users"] ?? 0 >= 1)
        }
    }
}

// Three minutes: on two cores under the whole suite (PostgreSQL included) the first 300-user run
// has taken more than one.
@Suite("A reconcile stopped by shutdown (SPEC §6, §15)", .timeLimit(.minutes(3)))
struct InterruptedReconcileTests {
    @Test(arguments: StoreBackend.available)
    func aCancelledRunIsRecordedInterruptedAndRemovesNothing(_ backend: StoreBackend) async throws {
        try await withConnector(users: 300, plan: .perUser, backend: backend) { harness in
            let first = try await harness.reconcile(ReconcileOptions(trigger: .startup))
            #expect(first.outcome == .succeeded, "\(first.errors)")
            let before = try await harness.storedHashes()
            // Slow answers, so that the run is still listing when the shutdown comes.
            harness.simulator.faults = FaultPlan(slowResponses: 100_000, slowDelay: 0.05)
            let run = Task { try await harness.reconcile(ReconcileOptions(trigger: .manual)) }
            let started = await eventually {
                (try? await harness.store.runs(connector: harness.settings.slug, limit: 1).first?.outcome) == .running
            }
            #expect(started)
            run.cancel()
            let record = try await run.value
            harness.simulator.faults = FaultPlan()
            #expect(record.outcome == .interrupted, "\(record.errors)")
            #expect(record.counts.removed == 0)
            let stored = try #require(try await harness.store.runs(connector: harness.settings.slug, limit: 1).first)
            #expect(stored.id == record.id)
            #expect(stored.outcome == .interrupted, "the record is written although the task was cancelled")
            #expect(stored.endedAt != nil)
            #expect(try await harness.storedHashes() == before, "nothing removed or rewritten")
        }
    }
}
