import ConnectorDomain
import ConnectorServer
import ConnectorStore
import ConnectorTestSupport
import Foundation
import SQLiteStore
import Synchronization
import Testing

/// A store that stops answering (a database gone away, a pool waiting for a connection): deliveries
/// are answered within the deadline, so the receiver says 503 while Okta still listens.
@Suite("Inbox commit deadline", .timeLimit(.minutes(3)))
struct CommitDeadlineTests {
    /// An inbox whose inserts wait until released.
    final class StalledInbox: EventInbox, @unchecked Sendable {
        let real: SQLiteStateStore
        let stalled = Mutex(true)
        /// Inserts begun so far.
        let begun = Mutex(0)

        init(_ real: SQLiteStateStore) { self.real = real }

        func insert(_ deliveries: [InboxDelivery]) async throws -> [InboxInsertResult] {
            begun.withLock { $0 += 1 }
            while stalled.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
            return try await real.insert(deliveries)
        }
        func pendingEvents(connector: String, limit: Int, dueAt: Timestamp?) async throws -> [PendingInboxEvent] {
            try await real.pendingEvents(connector: connector, limit: limit, dueAt: dueAt)
        }
        func nextPendingEventDue(connector: String) async throws -> Timestamp? {
            try await real.nextPendingEventDue(connector: connector)
        }
        func markApplied(connector: String, seqs: [Int64], at: Timestamp) async throws {
            try await real.markApplied(connector: connector, seqs: seqs, at: at)
        }
        func setBack(connector: String, _ setbacks: [InboxSetback], at: Timestamp) async throws {
            try await real.setBack(connector: connector, setbacks, at: at)
        }
        func failedEvents(connector: String, limit: Int) async throws -> [FailedInboxEvent] {
            try await real.failedEvents(connector: connector, limit: limit)
        }
        func failedEventCount(connector: String) async throws -> Int {
            try await real.failedEventCount(connector: connector)
        }
        func retryFailedEvents(connector: String, seqs: [Int64]?, at: Timestamp) async throws -> Int {
            try await real.retryFailedEvents(connector: connector, seqs: seqs, at: at)
        }
        func inboxDepth(connector: String) async throws -> Int { try await real.inboxDepth(connector: connector) }
        func oldestPendingEventPublished(connector: String) async throws -> Timestamp? {
            try await real.oldestPendingEventPublished(connector: connector)
        }
        func latestDeliveryReceived(connector: String) async throws -> Timestamp? {
            try await real.latestDeliveryReceived(connector: connector)
        }
        func eventsReceivedPerMinute(connector: String, since: Timestamp) async throws -> [Int64: Int] {
            try await real.eventsReceivedPerMinute(connector: connector, since: since)
        }
    }

    func delivery(_ id: String) -> InboxDelivery {
        InboxDelivery(
            connector: "c", eventId: id, receivedAt: Timestamp(Date()),
            events: [
                InboxEvent(
                    uuid: "uuid-\(id)", eventType: "user.session.start", subjectUserId: "00u1",
                    published: Timestamp(Date()), payloadJSON: "{}")
            ])
    }

    @Test func aStoreThatDoesNotAnswerIsGivenUpAtTheDeadlineAndARedeliveryIsADuplicate() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("okta-deadline-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let real = try SQLiteStateStore(path: directory.appendingPathComponent("state.db").path)
        let inbox = StalledInbox(real)
        let committer = InboxGroupCommitter(inbox: inbox, deadline: .milliseconds(400))
        // One delivery is being written (stalled), a second waits behind it: both are answered.
        let first = Task { try await committer.store(delivery("a")) }
        #expect(await eventually { inbox.begun.withLock { $0 } == 1 }, "the first delivery's write is under way")
        // Timed from the stalled write on: how long a loaded machine takes to start it is not the deadline's.
        let started = ContinuousClock.now
        let second = Task { try await committer.store(delivery("b")) }
        await #expect(throws: InboxGroupCommitter.StoreTimeout.self) { _ = try await first.value }
        await #expect(throws: InboxGroupCommitter.StoreTimeout.self) { _ = try await second.value }
        let waited = ContinuousClock.now - started
        // The store never answers until released below: any answer now came from the deadline (generous
        // bound for a loaded machine).
        #expect(waited < .seconds(10), "answered by the deadline, not when the store came back (\(waited))")
        #expect(await committer.timedOut == 2)
        // The store answers again: the given-up delivery that was being written is stored after all;
        // Okta's redelivery of it is a duplicate, the other one is stored now.
        inbox.stalled.withLock { $0 = false }
        #expect(await eventually { await committer.transactions == 1 }, "the stalled transaction completes")
        // Redeliveries through a committer with a generous deadline (a loaded machine is slow).
        let patient = InboxGroupCommitter(inbox: inbox, deadline: .seconds(30))
        #expect(try await patient.store(delivery("a")) == .duplicateDelivery)
        #expect(try await patient.store(delivery("b")) == .stored(newEvents: 1, duplicateEvents: 0))
        #expect(try await patient.store(delivery("c")) == .stored(newEvents: 1, duplicateEvents: 0))
    }
}
