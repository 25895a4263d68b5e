import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import OktaClient
import Testing

/// The reconciler's decisions (SPEC §6) against an in-memory Okta: status selection, pages, drift,
/// removals and the circuit breaker, a failing page. No socket; the socket-level suite is
/// ReconcilerTests.
@Suite("The reconciler's decisions, without sockets", .timeLimit(.minutes(3)))
struct ReconcilerDecisionTests {
    @Test func theFirstRunCreatesEverySelectedUserAcrossPages() async throws {
        let c = try await MemoryConnector(pageSize: 3, statuses: [.active])
        for index in 0..<7 { c.okta.put(InMemoryOkta.user("00u\(index)")) }
        c.okta.put(InMemoryOkta.user("00uSUSPENDED", status: .suspended))
        let run = try await c.reconcile()
        #expect(run.outcome == .succeeded)
        #expect(run.counts.listed == 7)
        #expect(run.counts.created == 7)
        #expect(run.drift == 0, "the first run creates everything: no drift")
        #expect(try await c.stored("00uSUSPENDED") == nil, "a status outside the selection is not stored")
        #expect(c.okta.calls(InMemoryOkta.Endpoint.listUsers) == 3, "seven users, three a page")
        #expect(run.oktaCalls[InMemoryOkta.Endpoint.listUsers] == 3, "the run records the calls it made")
        #expect(try await c.queued().count == 7)
    }

    @Test func anUnchangedOrgChangesNothingAndAChangeIsDrift() async throws {
        let c = try await MemoryConnector()
        for index in 0..<4 { c.okta.put(InMemoryOkta.user("00u\(index)")) }
        _ = try await c.reconcile()
        let queued = try await c.queued().count
        let again = try await c.reconcile()
        #expect(again.counts.unchanged == 4)
        #expect(again.counts.updated == 0)
        #expect(again.drift == 0)
        #expect(try await c.queued().count == queued, "nothing queued for an unchanged org")
        c.okta.put(
            InMemoryOkta.user(
                "00u2", lastUpdated: Timestamp(millisecondsSinceEpoch: 1_790_000_000_000), title: "Director"))
        let changed = try await c.reconcile()
        #expect(changed.counts.updated == 1)
        #expect(changed.drift == 1, "a change no event delivered")
        #expect(try await c.stored("00u2")?.version == 2)
    }

    @Test(arguments: [HookEventTypes.changes, .all])
    func aChangeOfLastLogonAloneIsCountedApart(_ profile: HookEventTypes) async throws {
        let c = try await MemoryConnector(hookEventTypes: profile)
        for index in 0..<4 { c.okta.put(InMemoryOkta.user("00u\(index)")) }
        _ = try await c.reconcile()
        // Two users signed in (Okta moves lastLogin, not lastUpdated), one was retitled.
        for id in ["00u0", "00u1"] {
            var user = InMemoryOkta.user(id)
            user.lastLogin = Timestamp(millisecondsSinceEpoch: 1_790_000_000_000)
            c.okta.put(user)
        }
        c.okta.put(
            InMemoryOkta.user(
                "00u2", lastUpdated: Timestamp(millisecondsSinceEpoch: 1_790_000_000_000), title: "Director"))
        let run = try await c.reconcile()
        #expect(run.counts.updated == 3, "every change is written and forwarded")
        #expect(run.lastLogonUpdates == 2)
        // A hook without sign-ins leaves them to the reconcile: not drift. With sign-ins delivered,
        // a missed one is drift like any change.
        #expect(run.drift == (profile == .changes ? 1 : 3))
        #expect(try await c.stored("00u0")?.version == 2)
    }

    @Test func aUserNoLongerListedIsRemovedUnlessTooManyAre() async throws {
        let c = try await MemoryConnector(maxRemovalShare: 0.2)
        for index in 0..<10 { c.okta.put(InMemoryOkta.user("00u\(index)")) }
        _ = try await c.reconcile()
        c.okta.delete("00u0")
        let one = try await c.reconcile()
        #expect(one.outcome == .succeeded)
        #expect(one.counts.removed == 1)
        #expect(try await c.stored("00u0")?.isPresent == false)
        // Half of the rest missing: held by the circuit breaker, nothing removed.
        for index in 1..<6 { c.okta.delete("00u\(index)") }
        let held = try await c.reconcile()
        #expect(held.outcome == .held)
        #expect(held.counts.removed == 0)
        #expect(try await c.stored("00u1")?.isPresent == true)
        // Confirmed by an operator: removed.
        let confirmed = try await c.reconcile(ReconcileOptions(trigger: .manual, confirmRemovals: true))
        #expect(confirmed.counts.removed == 5)
    }

    @Test func aFailingPageFailsTheRunAndRemovesNothing() async throws {
        let c = try await MemoryConnector(pageSize: 2)
        for index in 0..<6 { c.okta.put(InMemoryOkta.user("00u\(index)")) }
        _ = try await c.reconcile()
        c.okta.fail(
            InMemoryOkta.Endpoint.listUsers,
            with: .apiError(endpoint: InMemoryOkta.Endpoint.listUsers, status: 500, body: nil))
        let failed = try await c.reconcile()
        #expect(failed.outcome == .failed)
        #expect(failed.counts.removed == 0)
        #expect(!failed.errors.isEmpty, "the run says why")
        for index in 0..<6 { #expect(try await c.stored("00u\(index)")?.isPresent == true) }
    }

    @Test func aDryRunWritesNothing() async throws {
        let c = try await MemoryConnector()
        for index in 0..<3 { c.okta.put(InMemoryOkta.user("00u\(index)")) }
        let run = try await c.reconcile(ReconcileOptions(trigger: .manual, dryRun: true))
        #expect(run.counts.created == 3, "what it would create")
        #expect(try await c.stored("00u0") == nil)
        #expect(try await c.queued().isEmpty)
    }

    @Test func appsAndDevicesOfEachUserAreMapped() async throws {
        let c = try await MemoryConnector()
        c.okta.put(
            InMemoryOkta.user("00u0"),
            apps: [OktaAppLink(label: "Slack", appName: "slack", appInstanceId: "0oaSLACK")],
            devices: [
                OktaUserDevice(
                    device: OktaDevice(
                        id: "guoPIXEL", status: "ACTIVE",
                        profile: .init(displayName: "Pixel", platform: "ANDROID", osVersion: "15")))
            ])
        _ = try await c.reconcile()
        let record = try #require(try await c.stored("00u0")?.recordJSON)
        #expect(record.contains("Slack"))
        #expect(record.contains("Pixel"))
    }
}
