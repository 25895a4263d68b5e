public import ConnectorStore
import Synchronization

/// Writes deliveries to the inbox with group commit: every delivery that arrives while a
/// transaction is being written waits for the next one, so many concurrent requests share one
/// transaction and one sync (SPEC §4). Each caller gets its own result once its delivery is durable.
///
/// A caller waits at most `deadline` (2 s): when the store does not answer in time (a database that
/// went away, a pool waiting for a connection), the delivery is answered with an error so that the
/// receiver says `503` while Okta still listens (it gives up after 3 s and retries 5xx once). A
/// delivery given up that way may still be stored later: its redelivery is then a duplicate, which
/// is acknowledged and ignored. Nothing answered `200` is ever lost.
public actor InboxGroupCommitter {
    /// The store did not answer within the deadline.
    public struct StoreTimeout: Error, CustomStringConvertible {
        public var description: String { "the store did not answer in time" }
    }

    /// One caller's answer, given once: by the transaction or by the deadline, whichever is first.
    final class Reply: Sendable {
        private let continuation: Mutex<CheckedContinuation<InboxInsertResult, any Error>?>

        init(_ continuation: CheckedContinuation<InboxInsertResult, any Error>) {
            self.continuation = Mutex(continuation)
        }

        /// - Returns: Whether this answered the caller (it had not been answered yet).
        @discardableResult
        func resume(_ result: Result<InboxInsertResult, any Error>) -> Bool {
            guard
                let pending = continuation.withLock({ pending in
                    defer { pending = nil }
                    return pending
                })
            else { return false }
            pending.resume(with: result)
            return true
        }
    }

    struct Waiting {
        let delivery: InboxDelivery
        let reply: Reply
        let since: ContinuousClock.Instant
    }

    let inbox: any EventInbox
    let maximumBatch: Int
    let deadline: Duration
    private var queue: [Waiting] = []
    private var inFlight: [Waiting] = []
    private var writing = false
    private var watching = false
    /// Transactions written and deliveries they carried (for metrics and tests).
    public private(set) var transactions = 0
    public private(set) var deliveries = 0
    /// Deliveries answered with ``StoreTimeout``.
    public private(set) var timedOut = 0

    /// Creates a committer.
    /// - Parameters:
    ///   - deadline: How long a caller waits for its transaction at most.
    public init(inbox: any EventInbox, maximumBatch: Int = 256, deadline: Duration = .seconds(2)) {
        self.inbox = inbox
        self.maximumBatch = maximumBatch
        self.deadline = deadline
    }

    /// Stores a delivery durably.
    /// - Returns: What storing it did, once the transaction holding it has committed.
    /// - Throws: The store's error when the transaction failed (nothing of the batch was stored), or
    ///   ``StoreTimeout`` when it did not answer within the deadline.
    public func store(_ delivery: InboxDelivery) async throws -> InboxInsertResult {
        try await withCheckedThrowingContinuation { continuation in
            queue.append(Waiting(delivery: delivery, reply: Reply(continuation), since: .now))
            if !writing {
                writing = true
                Task { await self.drain() }
            }
            if !watching {
                watching = true
                Task { await self.watch() }
            }
        }
    }

    private func drain() async {
        while !queue.isEmpty {
            let batch = Array(queue.prefix(maximumBatch))
            queue.removeFirst(batch.count)
            inFlight = batch
            do {
                let results = try await inbox.insert(batch.map(\.delivery))
                transactions += 1
                deliveries += batch.count
                for (waiting, result) in zip(batch, results) { waiting.reply.resume(.success(result)) }
            } catch {
                for waiting in batch { waiting.reply.resume(.failure(error)) }
            }
            inFlight = []
        }
        writing = false
    }

    /// While anyone waits, answers those past the deadline with ``StoreTimeout`` (one task, a few
    /// times per deadline; nothing runs while the receiver is idle).
    private func watch() async {
        let step = deadline / 4
        while !(queue.isEmpty && inFlight.isEmpty) {
            try? await Task.sleep(for: step)
            let now = ContinuousClock.now
            let late = { (waiting: Waiting) in now - waiting.since >= self.deadline }
            for waiting in inFlight where late(waiting) {
                if waiting.reply.resume(.failure(StoreTimeout())) { timedOut += 1 }
            }
            // Queued ones not yet written are dropped: the caller is told 503 and Okta redelivers.
            let expired = queue.filter(late)
            if !expired.isEmpty {
                queue.removeAll(where: late)
                for waiting in expired { waiting.reply.resume(.failure(StoreTimeout())) }
                timedOut += expired.count
            }
        }
        watching = false
    }
}
