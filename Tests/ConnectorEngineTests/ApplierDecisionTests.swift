import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import OktaClient
import Testing

/// The applier's decisions (SPEC §5) against an in-memory Okta: which events call Okta, how many
/// times, and what a failure does to the events. No socket; the socket-level suite is ApplierTests.
@Suite("The applier's decisions, without sockets", .timeLimit(.minutes(3)))
struct ApplierDecisionTests {
    /// A connector whose reconcile stored `count` active users.
    func reconciled(_ count: Int = 3) async throws -> MemoryConnector {
        let connector = try await MemoryConnector()
        for index in 0..<count { connector.okta.put(InMemoryOkta.user("00u\(index)")) }
        #expect(try await connector.reconcile().outcome == .succeeded)
        return connector
    }

    @Test func manyEventsForOneUserCostOneRefreshAndOneQueuedChange() async throws {
        let c = try await reconciled()
        let queuedBefore = try await c.queued().count
        c.okta.put(InMemoryOkta.user("00u0", title: "Principal"))
        let reads = c.okta.calls(InMemoryOkta.Endpoint.user)
        try await c.apply(
            (0..<5).map { _ in memoryEvent("user.account.update_profile", user: "00u0") }
                + [memoryEvent("user.lifecycle.suspend", user: "00u0")])
        #expect(c.okta.calls(InMemoryOkta.Endpoint.user) == reads + 1, "six events, one read of the user")
        #expect(try await c.queued().count == queuedBefore + 1)
        #expect(try await c.stored("00u0")?.recordJSON?.contains("Principal") == true)
        #expect(try await c.store.inboxDepth(connector: c.slug) == 0)
    }

    @Test func loginsMoveLastLogonForwardOnlyAndCallNoOkta() async throws {
        let c = try await reconciled()
        let calls = c.okta.callCounts.total
        let later = Timestamp(millisecondsSinceEpoch: 1_790_000_000_000)
        let earlier = Timestamp(millisecondsSinceEpoch: 1_785_000_000_000)
        try await c.apply([memoryEvent("user.session.start", user: "00u1", published: later)])
        try await c.apply([memoryEvent("user.authentication.sso", user: "00u1", published: earlier)])
        #expect(try await c.stored("00u1")?.snapshot.user.lastLogin == later, "an older login does not move it back")
        #expect(c.okta.callCounts.total == calls, "no Okta call for logins")
    }

    @Test func aDeleteEventIsCheckedWithOktaAndA404RemovesToo() async throws {
        let c = try await reconciled()
        // A delete event for a user Okta still has ACTIVE (forged with the shared secret, or out of
        // order): Okta's answer wins, the user stays (SPEC §20).
        let reads = c.okta.calls(InMemoryOkta.Endpoint.user)
        try await c.apply([memoryEvent("user.lifecycle.delete.initiated", user: "00u0")])
        #expect(try await c.stored("00u0")?.isPresent == true, "not removed on the event's word")
        #expect(c.okta.calls(InMemoryOkta.Endpoint.user) == reads + 1, "one read to check")
        // Really deleted: the read answers 404 E0000007, which removes.
        c.okta.delete("00u0")
        try await c.apply([memoryEvent("user.lifecycle.delete.initiated", user: "00u0")])
        #expect(try await c.stored("00u0")?.isPresent == false)
        // Deleted in Okta since: the refresh answers 404 E0000007, which removes.
        c.okta.delete("00u1")
        try await c.apply([memoryEvent("user.account.update_profile", user: "00u1")])
        #expect(try await c.stored("00u1")?.isPresent == false)
        let deletes = try await c.queued().filter { $0.operation == .delete }.map(\.userId)
        #expect(Set(deletes) == ["00u0", "00u1"])
        // A user the connector never held, gone in Okta: nothing to remove, nothing queued.
        let queued = try await c.queued().count
        try await c.apply([memoryEvent("user.account.update_profile", user: "00uNEVER")])
        #expect(try await c.stored("00uNEVER") == nil)
        #expect(try await c.queued().count == queued)
    }

    @Test func aStatusOutsideTheSelectionRemovesDownstream() async throws {
        let c = try await reconciled()
        c.okta.put(InMemoryOkta.user("00u2", status: .deprovisioned))
        try await c.apply([memoryEvent("user.lifecycle.deactivate", user: "00u2")])
        #expect(try await c.stored("00u2")?.isPresent == false)
        // A new user in a selected status is read whole (user, apps, devices) and created.
        c.okta.put(InMemoryOkta.user("00uNEW"))
        try await c.apply([memoryEvent("user.lifecycle.create", user: "00uNEW")])
        #expect(try await c.stored("00uNEW")?.isPresent == true)
        #expect(c.okta.calls(InMemoryOkta.Endpoint.appLinks) >= 1)
    }

    @Test func unknownAndUnsuccessfulEventsAreConsumedWithoutACall() async throws {
        let c = try await reconciled()
        let calls = c.okta.callCounts.total
        let queued = try await c.queued().count
        let consumed = try await c.apply([
            memoryEvent("policy.lifecycle.update", user: "00u0"),
            memoryEvent("user.account.update_profile", user: "00u0", result: "FAILURE"),
        ])
        #expect(consumed == 2)
        #expect(c.okta.callCounts.total == calls)
        #expect(try await c.queued().count == queued)
        #expect(try await c.store.inboxDepth(connector: c.slug) == 0)
    }

    @Test func aRetryableFailureIsTriedAgainLaterAndCountsAnAttempt() async throws {
        let c = try await reconciled()
        c.okta.fail(InMemoryOkta.Endpoint.user, with: .transport(endpoint: InMemoryOkta.Endpoint.user, reason: "reset"))
        // A retry at least five minutes away, so that a slow machine cannot make it due by the next look.
        let applier = c.applier(retry: RetryPolicy(initialDelay: 600, maximumDelay: 600))
        try await c.apply([memoryEvent("user.account.update_profile", user: "00u0")], with: applier)
        let pending = try await c.store.pendingEvents(connector: c.slug, limit: 10)
        #expect(pending.count == 1)
        #expect(pending.first?.attempts == 1)
        #expect(try await c.store.failedEventCount(connector: c.slug) == 0)
        // Not due yet: a look now applies nothing.
        #expect(try await applier.applyPending() == 0)
    }

    @Test func rejectedCredentialsHoldEventsWithoutCountingAnAttempt() async throws {
        let c = try await reconciled()
        c.okta.fail(
            InMemoryOkta.Endpoint.user,
            with: .credentialsRejected(reason: "E0000011", nextProbeAt: Date().addingTimeInterval(60)))
        try await c.apply([memoryEvent("user.account.update_profile", user: "00u0")])
        let pending = try await c.store.pendingEvents(connector: c.slug, limit: 10)
        #expect(pending.first?.attempts == 0, "held, not failed: the events are not at fault")
        #expect(try await c.store.failedEventCount(connector: c.slug) == 0)
    }

    @Test func anAnswerNoRetryCanFixFailsTheEventsAtOnce() async throws {
        let c = try await reconciled()
        c.okta.fail(
            InMemoryOkta.Endpoint.user, with: .apiError(endpoint: InMemoryOkta.Endpoint.user, status: 400, body: nil))
        try await c.apply([memoryEvent("user.account.update_profile", user: "00u0")])
        #expect(try await c.store.failedEventCount(connector: c.slug) == 1)
        #expect(try await c.store.inboxDepth(connector: c.slug) == 0)
    }

    @Test func theLastAllowedAttemptFailsTheEvents() async throws {
        let c = try await reconciled()
        c.okta.fail(InMemoryOkta.Endpoint.user, with: .rateLimited(endpoint: InMemoryOkta.Endpoint.user, attempts: 3))
        try await c.apply(
            [memoryEvent("user.account.update_profile", user: "00u0")], with: c.applier(maximumAttempts: 1))
        #expect(try await c.store.failedEventCount(connector: c.slug) == 1)
    }

    @Test func aResyncReadsTheUserWholeAndWritesIt() async throws {
        let c = try await reconciled()
        c.okta.put(
            InMemoryOkta.user("00u1"),
            apps: [OktaAppLink(label: "Slack", appName: "slack", appInstanceId: "0oaSLACK")])
        let outcome = try await c.applier().resync(userId: "00u1")
        #expect(outcome == .updated(version: 2))
        #expect(try await c.stored("00u1")?.recordJSON?.contains("Slack") == true)
    }
}
