public import OktaClient

/// The working parts of one connector as the composition root built them (`ConnectorAssembly`):
/// what ``ConnectorOperations`` acts through. Nothing outside the operations reaches into them.
public struct ConnectorParts: Sendable {
    /// Okta as the connector's parts read it (call counts, rate-limit state, the credential pause).
    public let okta: any OktaDirectory
    /// Okta's event hook management (the real client); `nil` where the parts run against an
    /// in-memory Okta (tests without sockets).
    public let hooks: OktaAPIClient?
    public let applier: EventApplier
    public let reconciler: Reconciler
    public let forwarder: OutboxForwarder
    /// Set for the CSV sink: a complete snapshot after each successful reconcile.
    public let snapshots: CSVSnapshots?
    /// One reconcile of the connector at a time, across every process sharing the store.
    public let gate: RunGate
    /// Where the connector's parts report trouble.
    public let board: ConnectorHealthBoard
    /// The worker lease this replica holds for the connector, if it holds it.
    public let fence: WorkerFenceHolder
    /// Where a reconcile started by an operator runs past the request that started it; `nil` for a
    /// command that runs its reconcile in the foreground.
    public let jobs: BackgroundJobs?

    /// Collects the parts.
    public init(
        okta: any OktaDirectory, hooks: OktaAPIClient?, applier: EventApplier, reconciler: Reconciler,
        forwarder: OutboxForwarder,
        snapshots: CSVSnapshots?, gate: RunGate, board: ConnectorHealthBoard, fence: WorkerFenceHolder,
        jobs: BackgroundJobs?
    ) {
        self.okta = okta
        self.hooks = hooks
        self.applier = applier
        self.reconciler = reconciler
        self.forwarder = forwarder
        self.snapshots = snapshots
        self.gate = gate
        self.board = board
        self.fence = fence
        self.jobs = jobs
    }
}
