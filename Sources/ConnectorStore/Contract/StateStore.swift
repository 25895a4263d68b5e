public import ConnectorDomain

/// Users with their mapped records, written together with the outbox.
public protocol UserStateStore: Sendable {
    /// Writes state changes, their outbox entries and the applied marks of inbox events in one
    /// transaction. An upsert whose mapped record hash equals the stored one queues nothing.
    /// - Parameter batch: The changes.
    /// - Returns: One outcome per change, in order.
    func commit(_ batch: UserWriteBatch) async throws -> [UserWriteOutcome]

    /// One user, present or removed.
    func user(connector: String, id: String) async throws -> StoredUser?

    /// Users present downstream, ordered by id, after a given id (for paging through all of them).
    func presentUsers(connector: String, after userId: String?, limit: Int) async throws -> [StoredUser]

    /// How many users are present downstream.
    func presentUserCount(connector: String) async throws -> Int

    /// The mapped-record hashes of present users among some ids (for dry runs).
    func recordHashes(connector: String, userIds: [String]) async throws -> [String: String]

    /// The mapped records (canonical JSON) of present users among some ids.
    func records(connector: String, userIds: [String]) async throws -> [String: String]

    /// The raw-input digests stored with present users among some ids (a reconcile's fast path).
    func rawDigests(connector: String, userIds: [String]) async throws -> [String: String]

    /// The present users among `digests` whose stored raw-input digest is still the given one: a
    /// user listed byte-identical to its stored read needs nothing written at all. Read only; a user
    /// an event changed or removed meanwhile has no matching digest (or is not present) and takes the
    /// full path.
    /// - Parameters:
    ///   - digests: User id to the digest of the user as listed now.
    /// - Returns: The users unchanged since their digest was stored.
    func unchangedByDigest(connector: String, digests: [String: String]) async throws -> Set<String>

    /// Present users that nothing wrote since `untouchedSince`, ordered by id (bytewise), after a
    /// given id: what a reconcile's sweep pages through, taking away the ids it listed, to find
    /// its removal candidates.
    func presentUserIds(connector: String, untouchedSince: Timestamp, after userId: String?, limit: Int)
        async throws -> [String]

    /// Keeps the users a run held by the circuit breaker would have removed, for the operator
    /// deciding whether to confirm (`runs show`, the console). Replaces what an earlier held run of
    /// the connector kept: only the newest listing is current.
    func recordHeldRemovals(connector: String, runId: Int64, userIds: [String]) async throws

    /// What ``recordHeldRemovals(connector:runId:userIds:)`` kept for a run, ordered by id; `nil`
    /// when nothing was kept for it (a later run replaced it, or an older version held it).
    func heldRemovals(connector: String, runId: Int64) async throws -> [String]?
}

/// Enrichment gathered by a reconcile's bulk plan (apps, devices and groups with their users),
/// kept in the store rather than in memory so that memory does not grow with the org (SPEC §6).
public protocol EnrichmentStaging: Sendable {
    /// Adds app assignments, devices and group memberships of users for a run.
    func stageEnrichment(
        runId: Int64, apps: [(userId: String, app: AssignedApp)], devices: [(userId: String, device: DeviceSummary)],
        groups: [(userId: String, group: GroupMembership)]
    ) async throws

    /// What was staged for some users of a run.
    func stagedEnrichment(runId: Int64, userIds: [String]) async throws -> [String: StagedEnrichment]

    /// Forgets a run's staged enrichment.
    func clearStagedEnrichment(runId: Int64) async throws
}

/// The durable inbox of event hook deliveries.
public protocol EventInbox: Sendable {
    /// Stores deliveries in one transaction (group commit), deduplicating by `eventId` and event `uuid`.
    /// - Parameter deliveries: The deliveries, possibly for several connectors.
    /// - Returns: One result per delivery, in order.
    func insert(_ deliveries: [InboxDelivery]) async throws -> [InboxInsertResult]

    /// Unapplied, not failed events of a connector that are due (their next attempt is not later
    /// than `dueAt`; `nil`: all of them), in `published` order (then arrival order).
    func pendingEvents(connector: String, limit: Int, dueAt: Timestamp?) async throws -> [PendingInboxEvent]

    /// When the earliest unapplied, not failed event of a connector is due, if any is waiting.
    func nextPendingEventDue(connector: String) async throws -> Timestamp?

    /// Marks events applied without a state change (ignored or no-op events).
    func markApplied(connector: String, seqs: [Int64], at: Timestamp) async throws

    /// Records that events could not be applied now: each set is retried later or marked failed.
    func setBack(connector: String, _ setbacks: [InboxSetback], at: Timestamp) async throws

    /// Events that failed for good (newest first), for operators.
    func failedEvents(connector: String, limit: Int) async throws -> [FailedInboxEvent]

    /// How many events of a connector failed for good.
    func failedEventCount(connector: String) async throws -> Int

    /// Makes failed events pending again, due at once, with their attempts reset.
    /// - Parameter seqs: The events, or `nil` for all of the connector's failed events.
    /// - Returns: How many were made pending.
    func retryFailedEvents(connector: String, seqs: [Int64]?, at: Timestamp) async throws -> Int

    /// Unapplied, not failed events of a connector.
    func inboxDepth(connector: String) async throws -> Int

    /// The `published` time of the oldest unapplied, not failed event (for the apply lag).
    func oldestPendingEventPublished(connector: String) async throws -> Timestamp?

    /// When the newest delivery of a connector was received (within the deduplication window), for
    /// "events arriving" in status output read by another process.
    func latestDeliveryReceived(connector: String) async throws -> Timestamp?

    /// Events that reached the inbox per minute since an instant, from either source (event hook
    /// deliveries and System Log polling; an event both brought counts once), for the console's chart.
    /// - Returns: The events of each minute that had any, keyed by the minute's start in
    ///   milliseconds since the epoch.
    func eventsReceivedPerMinute(connector: String, since: Timestamp) async throws -> [Int64: Int]
}

/// The ordered queue of changes for the sink.
public protocol Outbox: Sendable {
    /// The oldest entries of a connector, in queue order.
    func pendingOutbox(connector: String, limit: Int) async throws -> [OutboxEntry]

    /// Removes entries the sink accepted.
    func markForwarded(connector: String, seqs: [Int64]) async throws

    /// Records a retryable failure: attempts + 1, the error, and when to try again.
    func recordForwardFailure(connector: String, seqs: [Int64], error: String, nextAttemptAt: Timestamp) async throws

    /// Moves entries the sink rejected for good to the dead letters.
    func moveToDeadLetters(connector: String, seqs: [Int64], reason: String, at: Timestamp) async throws

    /// Depth and age of the queue.
    func outboxStats(connector: String) async throws -> OutboxStats

    /// Queues an upsert of every present user's current record, at its current version, behind what
    /// is queued: a re-send after the sink lost data. Okta is not called and no user state changes.
    /// - Parameters:
    ///   - connector: The connector.
    ///   - at: When the entries are queued.
    /// - Returns: How many entries were queued.
    func requeuePresentUsers(connector: String, at: Timestamp) async throws -> Int
}

/// Changes the sink rejected for good.
public protocol DeadLetterStore: Sendable {
    /// Dead letters of a connector, oldest first.
    func deadLetters(connector: String, limit: Int) async throws -> [DeadLetter]

    /// How many dead letters a connector has.
    func deadLetterCount(connector: String) async throws -> Int

    /// Moves dead letters back to the end of the outbox.
    /// - Parameters:
    ///   - connector: The connector.
    ///   - ids: The dead letters to replay, or `nil` for all of the connector's.
    /// - Returns: How many were re-queued.
    func replayDeadLetters(connector: String, ids: [Int64]?, at: Timestamp) async throws -> Int
}

/// The history of reconcile runs.
public protocol RunHistory: Sendable {
    /// Records the start of a run.
    /// - Returns: The run id.
    func startRun(connector: String, trigger: RunTrigger, dryRun: Bool, at: Timestamp) async throws -> Int64

    /// Records how a run ended (outcome, counts, calls, errors).
    func finishRun(_ record: RunRecord) async throws

    /// Records the counts, calls and `429`s of a run still in progress, so that `runs`, `status`
    /// and the admin API show live figures. A run that has ended is left as it is.
    func updateRunProgress(_ record: RunRecord) async throws

    /// Runs of a connector, newest first.
    func runs(connector: String, limit: Int) async throws -> [RunRecord]

    /// Records whether the changes a run queued reached the sink (the `reconcile` command forwards
    /// them itself after the run, SPEC §15).
    /// - Parameters:
    ///   - id: The run.
    ///   - forwarded: Whether forwarding ended with the outbox empty.
    func recordRunForwarding(id: Int64, forwarded: Bool) async throws

    /// One run.
    func run(id: Int64) async throws -> RunRecord?

    /// Marks runs left `running` by a process that is gone as `interrupted` and removes their
    /// staged enrichment (crash recovery: at start, and when a replica takes over a connector).
    /// A run is gone when its process is (on this host) or no longer holds the connector's run
    /// lease (``RunRecovery``); runs of this process and of live lease holders are left alone.
    /// - Returns: The runs marked.
    func interruptAbandonedRuns(at: Timestamp) async throws -> [Int64]
}

/// One reconcile at a time per connector across every process sharing the store: a lease row per
/// connector, taken in one transaction, renewed while the run lasts and released at its end.
public protocol RunLeases: Sendable {
    /// Takes the connector's lease if it is free, expired, already ours, or held by a process on
    /// this host that is gone (``ProcessIdentity/considersGone(_:)``).
    /// - Parameters:
    ///   - connector: The connector.
    ///   - holder: The process asking.
    ///   - at: The time now.
    ///   - expiresAt: When the lease lapses unless renewed.
    /// - Returns: `.acquired`, or `.held` with the lease of the process running it.
    func acquireRunLease(connector: String, holder: ProcessIdentity, at: Timestamp, expiresAt: Timestamp)
        async throws -> RunLeaseAcquisition

    /// Extends a lease the holder still has.
    /// - Returns: Whether the holder still had it.
    func renewRunLease(connector: String, holder: ProcessIdentity, expiresAt: Timestamp) async throws -> Bool

    /// Gives a lease back; nothing happens when the holder no longer has it.
    func releaseRunLease(connector: String, holder: ProcessIdentity) async throws

    /// The connector's lease as stored, expired or not.
    func runLease(connector: String) async throws -> RunLease?
}

/// Which replica runs a connector's worker parts (applier, scheduler, forwarder, snapshots) when
/// several share one store: a lease row per connector with an epoch that grows at every change of
/// holder. Every replica serves the hook listener and the admin API; only the holder works.
public protocol WorkerLeases: Sendable {
    /// Takes the connector's worker lease, or renews it for its holder, until `expiresAt`: taken when
    /// free, expired, or held by a process on this host that is gone; renewed when `holder` has it.
    /// - Returns: The lease as it is now: `holder`'s (a new epoch when it changed hands), or the
    ///   other holder's.
    func claimWorkerLease(connector: String, holder: String, at: Timestamp, expiresAt: Timestamp) async throws
        -> WorkerLease

    /// Gives the lease back (shutdown), so that another replica takes over at once.
    func releaseWorkerLease(connector: String, holder: String) async throws

    /// The connector's worker lease, expired or not.
    func workerLease(connector: String) async throws -> WorkerLease?
}

/// Pruning of what the store keeps only for a while (SPEC §10).
public protocol StoreRetention: Sendable {
    /// Deletes what is older than its horizon and reclaims space.
    /// - Returns: How many rows of each kind were deleted.
    func prune(_ horizons: RetentionHorizons, now: Timestamp) async throws -> PruneCounts
}

/// Schedule bookkeeping per connector.
public protocol ScheduleStateStore: Sendable {
    /// The connector's schedule state, if it ever ran.
    func scheduleState(connector: String) async throws -> ScheduleState?

    /// Saves the connector's schedule state.
    func saveScheduleState(_ state: ScheduleState) async throws
}

/// The System Log polling position per connector (SPEC §17).
public protocol SystemLogCursorStore: Sendable {
    /// The connector's cursor, if it ever polled.
    func systemLogCursor(connector: String) async throws -> SystemLogCursor?

    /// Adds polled events to the inbox (deduplicated by `uuid`, like deliveries) and moves the
    /// cursor in the same transaction: a restart neither loses nor repeats a page. The newest
    /// `published` only moves forward; the poll is recorded `ok`.
    /// - Returns: The `uuid`s of the events that were new to the inbox.
    func storePolledEvents(_ page: PolledEventPage) async throws -> [String]

    /// Records a poll that stored nothing (a failure, or events left for their hooks), leaving the
    /// position as it is.
    func recordSystemLogPoll(connector: String, outcome: String, succeeded: Bool, at: Timestamp) async throws
}

/// When Okta last accepted each connector's credentials, and the last rejection (SPEC §19): kept
/// so that `status`, the console and every replica see it, and so that a token unused for a day
/// is used.
public protocol OktaContactStore: Sendable {
    /// The connector's record, if Okta was ever called.
    func oktaContact(connector: String) async throws -> OktaContact?

    /// Records an accepted call (the newest is kept; a rejection before it is cleared) or a
    /// rejection (when and why, naming the credential).
    func recordOktaContact(connector: String, acceptedAt: Timestamp?, rejection: OktaRejection?) async throws

    /// Records Okta's clock offset as measured now (SPEC §20): the newest measurement is kept.
    func recordOktaClock(connector: String, offset: OktaClockOffset) async throws

    /// Records what the hook monitor found wrong with the connector's hooks in Okta (an ACTIVE hook
    /// of a connector that no longer takes deliveries, SPEC §20), or clears it (`nil`), so that
    /// `status`, which reads only the store, says it too.
    func recordHookWarning(connector: String, warning: String?) async throws
}

/// The events Okta's hooks delivered, per connector and hour (SPEC §20): the receiver's inserts
/// add to them (``EventInbox/insert(_:)``, in the same transaction), so every replica's deliveries
/// count once and a redelivered `eventId` does not count again.
public protocol HookEventCountStore: Sendable {
    /// The connector's hourly counts from the hour holding `since` on, oldest first.
    func hookEventCounts(connector: String, since: Timestamp) async throws -> [HourlyEventCount]
}

/// Everything the connector keeps: one backend implements all of it (SQLite now, PostgreSQL later).
public protocol StateStore: UserStateStore, EventInbox, Outbox, DeadLetterStore, RunHistory, ScheduleStateStore,
    EnrichmentStaging, StoreRetention, RunLeases, WorkerLeases, SystemLogCursorStore, OktaContactStore,
    HookEventCountStore
{
    /// Whether the store answers and its schema is current (for `/readyz`).
    func isReady() async -> Bool

    /// Runs what keeps the store working (a connection pool and its watchdog) until graceful
    /// shutdown, cancellation or ``close()``. Queries wait until it runs; a store with nothing to
    /// run (an SQLite file) returns at once.
    func run() async

    /// Gives back the store's connections (ending ``run()``); called once, when nothing uses the
    /// store any more.
    func close() async
}

/// Errors of the store that an operator can act on.
public enum StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The database was written by a newer version of okta-connector.
    case schemaFromNewerVersion(unknownMigrations: [String])
    /// The database cannot be opened.
    case cannotOpen(location: String, reason: String)
    /// Stored data does not decode (corruption or a manual edit).
    case corruptRow(table: String, key: String, reason: String)
    /// A write carried a worker lease this replica no longer holds: refused, nothing written.
    case fenced(connector: String, epoch: Int64)
    /// A run's write carried a run lease this process no longer holds: refused, nothing written.
    case runFenced(connector: String, holder: String)

    public var description: String {
        switch self {
        case .schemaFromNewerVersion(let unknown):
            return
                "the database was written by a newer okta-connector (unknown migrations: \(unknown.joined(separator: ", "))); upgrade this binary"
        case .cannotOpen(let location, let reason): return "cannot open the store at \(location): \(reason)"
        case .corruptRow(let table, let key, let reason): return "corrupt row in \(table) (\(key)): \(reason)"
        case .fenced(let connector, let epoch):
            return
                "this replica no longer holds the worker lease of \(connector) (epoch \(epoch)); the write was refused"
        case .runFenced(let connector, let holder):
            return
                "the run lease of \(connector) lapsed or passed from \(holder) to another process; the run's write was refused"
        }
    }
}

extension StoreError {
    /// Whether a write was refused because its writer lost a lease (worker or run).
    public var isFenced: Bool {
        switch self {
        case .fenced, .runFenced: return true
        default: return false
        }
    }
}

extension EventInbox {
    /// Every unapplied, not failed event of a connector, due or not, in `published` order.
    public func pendingEvents(connector: String, limit: Int) async throws -> [PendingInboxEvent] {
        try await pendingEvents(connector: connector, limit: limit, dueAt: nil)
    }
}

extension EnrichmentStaging {
    /// Adds app assignments and devices of users for a run.
    public func stageEnrichment(
        runId: Int64, apps: [(userId: String, app: AssignedApp)], devices: [(userId: String, device: DeviceSummary)]
    ) async throws {
        try await stageEnrichment(runId: runId, apps: apps, devices: devices, groups: [])
    }
}
