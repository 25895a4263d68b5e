public import ConnectorStore
import Synchronization

/// The worker lease this replica holds for a connector, as a fencing token for its writes: set by
/// ``ConnectorWorkerLease`` while it holds the lease, read by the applier for every state write, so
/// that the store refuses a write of a replica that lost its lease (SPEC §10).
public final class WorkerFenceHolder: Sendable {
    private let fence = Mutex<WorkerFence?>(nil)

    /// Creates a holder with no lease.
    public init() {}

    /// The lease held now, if any.
    public var current: WorkerFence? { fence.withLock { $0 } }

    /// Records the lease taken (or `nil` once it is lost or given back).
    public func set(_ value: WorkerFence?) { fence.withLock { $0 = value } }
}
