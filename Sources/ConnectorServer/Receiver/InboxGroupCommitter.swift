public import ConnectorStore
import Synchronization

/// Writes deliveries to the inbox with group commit: every delivery that arrives while a
/// transaction is being written waits for the next one, so many concurrent requests share one
/// transaction and one sync (SPEC §4). Each caller gets its own result once its delivery is durable.
public actor InboxGroupCommitter {
    struct Waiting {
        let delivery: InboxDelivery
        let continuation: CheckedContinuation<InboxInsertResult, any Error>
    }

    let inbox: any EventInbox
    let maximumBatch: Int
    private var queue: [Waiting] = []
    private var writing = false
    /// Transactions written and deliveries they carried (for metrics and tests).
    public private(set) var transactions = 0
    public private(set) var deliveries = 0

    /// Creates a committer.
    public init(inbox: any EventInbox, maximumBatch: Int = 256) {
        self.inbox = inbox
        self.maximumBatch = maximumBatch
    }

    /// Stores a delivery durably.
    /// - Returns: What storing it did, once the transaction holding it has committed.
    /// - Throws: The store's error when the transaction failed (nothing of the batch was stored).
    public func store(_ delivery: InboxDelivery) async throws -> InboxInsertResult {
        try await withCheckedThrowingContinuation { continuation in
            queue.append(Waiting(delivery: delivery, continuation: continuation))
            if !writing {
                writing = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !queue.isEmpty {
            let batch = Array(queue.prefix(maximumBatch))
            queue.removeFirst(batch.count)
            do {
                let results = try await inbox.insert(batch.map(\.delivery))
                transactions += 1
                deliveries += batch.count
                for (waiting, result) in zip(batch, results) { waiting.continuation.resume(returning: result) }
            } catch {
                for waiting in batch { waiting.continuation.resume(throwing: error) }
            }
        }
        writing = false
    }
}
