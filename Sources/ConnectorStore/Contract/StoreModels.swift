public import ConnectorDomain
public import Foundation

/// A change to one user's state, written together with its outbox entry.
public enum UserChange: Sendable, Hashable {
    /// The user as now known, with its mapped record.
    case upsert(snapshot: UserSnapshot, record: NeuronsRecord)
    /// The user is gone or no longer selected: remove it downstream.
    case remove(userId: String, reason: RemovalReason)

    /// The user this change is about.
    public var userId: String {
        switch self {
        case .upsert(let snapshot, _): return snapshot.user.id
        case .remove(let userId, _): return userId
        }
    }
}

/// Why a user is removed downstream.
public enum RemovalReason: String, Sendable, Hashable, Codable {
    /// Okta answered `404 E0000007`, or a `user.lifecycle.delete.initiated` event arrived.
    case deleted
    /// The user's status is not one the connector selects.
    case statusNotSelected = "status_not_selected"
    /// A complete listing did not contain the user.
    case notListed = "not_listed"
    /// The user is a member of none of `user_scope.groups` (SPEC §19).
    case notInScope = "not_in_scope"
}

/// State changes and their outbox entries, written in one transaction.
public struct UserWriteBatch: Sendable {
    public var connector: String
    public var changes: [UserChange]
    /// The reconcile run that listed these users (for mark and sweep), if any.
    public var seenInRun: Int64?
    /// Inbox events whose effect these changes are; marked applied in the same transaction.
    public var appliedInboxEvents: [Int64]
    /// When the batch is written.
    public var at: Timestamp
    /// The worker lease the writer believes it holds: the batch is refused unless the store's lease
    /// is still exactly this one and not lapsed (a replica that lost its lease writes nothing).
    public var fence: WorkerFence?
    /// The run lease the writer (a reconcile) believes it holds: the batch is refused unless the
    /// store's run lease still names this holder and has not lapsed (a run whose lease lapsed, and
    /// which another process may have started again, writes nothing).
    public var runFence: RunFence?
    /// The raw-input digest (``ConnectorDomain/UserInputDigester``) of upserted users read from a
    /// listing, stored with them for the next reconcile's fast path. An upsert without one clears
    /// the stored digest (its snapshot came another way).
    public var rawDigests: [String: String]

    /// Creates a batch.
    public init(
        connector: String, changes: [UserChange], seenInRun: Int64? = nil, appliedInboxEvents: [Int64] = [],
        at: Timestamp, fence: WorkerFence? = nil, runFence: RunFence? = nil, rawDigests: [String: String] = [:]
    ) {
        self.rawDigests = rawDigests
        self.connector = connector
        self.changes = changes
        self.seenInRun = seenInRun
        self.appliedInboxEvents = appliedInboxEvents
        self.at = at
        self.fence = fence
        self.runFence = runFence
    }
}

/// A fencing token for the writes of a run: the holder of the connector's run lease.
public struct RunFence: Sendable, Hashable {
    /// `host pid incarnation` of the holder (``ProcessIdentity``).
    public var holder: String

    /// Creates a fence.
    public init(holder: String) { self.holder = holder }

    /// Whether a run lease as stored still grants writes with this fence at an instant.
    public func admits(_ lease: RunLease?, at: Timestamp) -> Bool {
        guard let lease else { return false }
        return lease.holder == holder && lease.expiresAt > at
    }
}

/// A fencing token: the holder and epoch of the connector's worker lease a write relies on.
public struct WorkerFence: Sendable, Hashable {
    public var holder: String
    public var epoch: Int64

    /// Creates a fence.
    public init(holder: String, epoch: Int64) {
        self.holder = holder
        self.epoch = epoch
    }

    /// Whether a lease as stored still grants writes with this fence at an instant.
    public func admits(_ lease: WorkerLease?, at: Timestamp) -> Bool {
        guard let lease else { return false }
        return lease.holder == holder && lease.epoch == epoch && lease.expiresAt > at
    }
}

/// What a change did, per change of a batch.
public enum UserWriteOutcome: Sendable, Hashable {
    /// A user the store did not have (or had removed) was added; queued with this version.
    case created(version: Int64)
    /// The mapped record changed; queued with this version.
    case updated(version: Int64)
    /// The mapped record is identical: nothing queued.
    case unchanged
    /// The user was removed; a delete was queued with this version.
    case removed(version: Int64)
    /// The user was not present: nothing to remove.
    case alreadyAbsent
    /// The store holds a newer read of the user (Okta's `lastUpdated` is later than this one's): this
    /// older read was not written (a refresh and a reconcile raced). Nothing queued.
    case stale

    /// Whether something was queued for the sink.
    public var queued: Bool {
        switch self {
        case .created, .updated, .removed: return true
        case .unchanged, .alreadyAbsent, .stale: return false
        }
    }
}

/// One user as the store keeps it.
public struct StoredUser: Sendable, Hashable {
    public var connector: String
    public var userId: String
    public var status: String
    public var snapshot: UserSnapshot
    /// Canonical JSON of the mapped attributes; `nil` once removed.
    public var recordJSON: String?
    public var recordHash: String?
    /// The per-user version; only grows, across removals and re-creations.
    public var version: Int64
    public var lastSeenRun: Int64?
    public var removedAt: Timestamp?
    public var updatedAt: Timestamp

    /// Whether the user is present downstream.
    public var isPresent: Bool { removedAt == nil }

    /// Creates the model.
    public init(
        connector: String, userId: String, status: String, snapshot: UserSnapshot, recordJSON: String?,
        recordHash: String?, version: Int64, lastSeenRun: Int64?, removedAt: Timestamp?, updatedAt: Timestamp
    ) {
        self.connector = connector
        self.userId = userId
        self.status = status
        self.snapshot = snapshot
        self.recordJSON = recordJSON
        self.recordHash = recordHash
        self.version = version
        self.lastSeenRun = lastSeenRun
        self.removedAt = removedAt
        self.updatedAt = updatedAt
    }
}

/// One System Log event of a delivery, as stored in the inbox.
public struct InboxEvent: Sendable, Hashable {
    public var uuid: String
    public var eventType: String
    public var subjectUserId: String?
    public var published: Timestamp
    /// The event as received.
    public var payloadJSON: String

    /// Creates an inbox event.
    public init(uuid: String, eventType: String, subjectUserId: String?, published: Timestamp, payloadJSON: String) {
        self.uuid = uuid
        self.eventType = eventType
        self.subjectUserId = subjectUserId
        self.published = published
        self.payloadJSON = payloadJSON
    }
}

/// One event hook delivery to be stored.
public struct InboxDelivery: Sendable, Hashable {
    public var connector: String
    public var eventId: String
    public var receivedAt: Timestamp
    public var events: [InboxEvent]
    /// Counted and remembered (its `eventId` deduplicates a redelivery) but its events not stored:
    /// a delivery to an inactive connector, acknowledged and discarded (SPEC §2, §20).
    public var discarded: Bool

    /// Creates a delivery.
    public init(
        connector: String, eventId: String, receivedAt: Timestamp, events: [InboxEvent], discarded: Bool = false
    ) {
        self.connector = connector
        self.eventId = eventId
        self.receivedAt = receivedAt
        self.events = events
        self.discarded = discarded
    }
}

/// Event hook events delivered to a connector in one hour (SPEC §20): every replica adds the events
/// of the new deliveries it stores, so the sum is the connector's whatever replica took them.
public struct HourlyEventCount: Sendable, Hashable {
    /// The start of the hour (UTC).
    public var hour: Timestamp
    public var events: Int

    /// Creates the count.
    public init(hour: Timestamp, events: Int) {
        self.hour = hour
        self.events = events
    }

    /// The start of the hour holding a time.
    public static func hour(of time: Timestamp) -> Timestamp {
        let milliseconds = time.millisecondsSinceEpoch
        return Timestamp(millisecondsSinceEpoch: milliseconds - ((milliseconds % 3_600_000) + 3_600_000) % 3_600_000)
    }
}

/// What storing a delivery did.
public enum InboxInsertResult: Sendable, Hashable {
    /// Stored; events already in the inbox (by `uuid`) were skipped.
    case stored(newEvents: Int, duplicateEvents: Int)
    /// The same `eventId` was stored before: nothing done.
    case duplicateDelivery
}

/// An inbox event waiting to be applied.
public struct PendingInboxEvent: Sendable, Hashable {
    public var seq: Int64
    public var connector: String
    public var eventId: String
    public var event: InboxEvent
    public var receivedAt: Timestamp
    /// Failed attempts so far (attempts held back by an Okta credential pause do not count).
    public var attempts: Int

    /// Creates the model.
    public init(seq: Int64, connector: String, eventId: String, event: InboxEvent, receivedAt: Timestamp, attempts: Int)
    {
        self.seq = seq
        self.connector = connector
        self.eventId = eventId
        self.event = event
        self.receivedAt = receivedAt
        self.attempts = attempts
    }
}

/// Inbox events that could not be applied now, and what happens to them.
public struct InboxSetback: Sendable, Hashable {
    /// What happens next.
    public enum Disposition: Sendable, Hashable {
        /// Try again once due; `countsAsAttempt` is false when the events are only held back (Okta's
        /// credentials are rejected: not the events' fault).
        case retry(at: Timestamp, countsAsAttempt: Bool)
        /// Never again on its own: visible, counted, replayable.
        case fail
    }

    public var seqs: [Int64]
    public var error: String
    public var disposition: Disposition

    /// Creates a setback.
    public init(seqs: [Int64], error: String, disposition: Disposition) {
        self.seqs = seqs
        self.error = error
        self.disposition = disposition
    }
}

/// An inbox event that failed for good.
public struct FailedInboxEvent: Sendable, Hashable {
    public var seq: Int64
    public var uuid: String
    public var eventType: String
    public var subjectUserId: String?
    public var published: Timestamp
    public var attempts: Int
    public var lastError: String
    public var failedAt: Timestamp

    /// Creates the model.
    public init(
        seq: Int64, uuid: String, eventType: String, subjectUserId: String?, published: Timestamp, attempts: Int,
        lastError: String, failedAt: Timestamp
    ) {
        self.seq = seq
        self.uuid = uuid
        self.eventType = eventType
        self.subjectUserId = subjectUserId
        self.published = published
        self.attempts = attempts
        self.lastError = lastError
        self.failedAt = failedAt
    }
}

/// How long the store keeps what it no longer needs (SPEC §10), in milliseconds.
public struct RetentionHorizons: Sendable, Hashable {
    /// Applied events and delivery ids: the deduplication window (Okta retries a delivery within
    /// seconds; the window is days, a wide margin).
    public var dedupeWindow: Int64
    /// Events that failed for good.
    public var failedEvents: Int64
    /// Dead letters.
    public var deadLetters: Int64
    /// Finished runs; the newest `keepRuns` of each connector are always kept.
    public var runs: Int64
    /// Runs always kept per connector, whatever their age.
    public var keepRuns: Int

    /// Creates horizons.
    public init(dedupeWindow: Int64, failedEvents: Int64, deadLetters: Int64, runs: Int64, keepRuns: Int) {
        self.dedupeWindow = dedupeWindow
        self.failedEvents = failedEvents
        self.deadLetters = deadLetters
        self.runs = runs
        self.keepRuns = keepRuns
    }
}

/// What one pruning pass deleted.
public struct PruneCounts: Sendable, Hashable {
    public var appliedEvents = 0
    public var deliveries = 0
    public var failedEvents = 0
    public var deadLetters = 0
    public var runs = 0
    /// Database pages given back to the file system.
    public var reclaimedPages = 0

    /// Creates counts.
    public init() {}

    /// Rows deleted in all.
    public var total: Int { appliedEvents + deliveries + failedEvents + deadLetters + runs }
}

/// What the sink is asked to do with a record.
public enum OutboxOperation: String, Sendable, Hashable, Codable {
    case upsert
    case delete
}

/// One queued change for the sink.
public struct OutboxEntry: Sendable, Hashable {
    public var seq: Int64
    public var connector: String
    public var userId: String
    public var operation: OutboxOperation
    public var version: Int64
    /// Canonical JSON of the attributes, for upserts.
    public var recordJSON: String?
    public var createdAt: Timestamp
    public var attempts: Int
    public var nextAttemptAt: Timestamp
    public var lastError: String?

    /// Creates the model.
    public init(
        seq: Int64, connector: String, userId: String, operation: OutboxOperation, version: Int64, recordJSON: String?,
        createdAt: Timestamp, attempts: Int, nextAttemptAt: Timestamp, lastError: String?
    ) {
        self.seq = seq
        self.connector = connector
        self.userId = userId
        self.operation = operation
        self.version = version
        self.recordJSON = recordJSON
        self.createdAt = createdAt
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
    }
}

/// The outbox's size and age.
public struct OutboxStats: Sendable, Hashable {
    public var depth: Int
    public var oldestCreatedAt: Timestamp?

    /// Creates the stats.
    public init(depth: Int, oldestCreatedAt: Timestamp?) {
        self.depth = depth
        self.oldestCreatedAt = oldestCreatedAt
    }
}

/// A change the sink rejected for good, kept for an operator.
public struct DeadLetter: Sendable, Hashable {
    public var id: Int64
    public var connector: String
    public var userId: String
    public var operation: OutboxOperation
    public var version: Int64
    public var recordJSON: String?
    public var reason: String
    public var attempts: Int
    public var createdAt: Timestamp
    public var failedAt: Timestamp

    /// Creates the model.
    public init(
        id: Int64, connector: String, userId: String, operation: OutboxOperation, version: Int64, recordJSON: String?,
        reason: String, attempts: Int, createdAt: Timestamp, failedAt: Timestamp
    ) {
        self.id = id
        self.connector = connector
        self.userId = userId
        self.operation = operation
        self.version = version
        self.recordJSON = recordJSON
        self.reason = reason
        self.attempts = attempts
        self.createdAt = createdAt
        self.failedAt = failedAt
    }
}

/// What started a reconcile run (SPEC §6).
public enum RunTrigger: String, Sendable, Hashable, Codable, CaseIterable {
    case schedule, manual, startup, reactivation
}

/// How a run ended (SPEC §6); `running` until it does. `interrupted`: the process stopped (shutdown,
/// or found at start left `running` by a process that died); such a run removed nothing.
public enum RunOutcome: String, Sendable, Hashable, Codable, CaseIterable {
    case running, succeeded, failed, held, cancelled, interrupted
}

/// The counts of a run.
public struct RunCounts: Sendable, Hashable, Codable {
    public var listed = 0
    public var created = 0
    public var updated = 0
    public var unchanged = 0
    public var removed = 0

    /// Creates counts.
    public init(listed: Int = 0, created: Int = 0, updated: Int = 0, unchanged: Int = 0, removed: Int = 0) {
        self.listed = listed
        self.created = created
        self.updated = updated
        self.unchanged = unchanged
        self.removed = removed
    }
}

/// One reconcile run, as recorded (SPEC §6).
public struct RunRecord: Sendable, Hashable {
    public var id: Int64
    public var connector: String
    public var trigger: RunTrigger
    public var dryRun: Bool
    public var startedAt: Timestamp
    public var endedAt: Timestamp?
    public var outcome: RunOutcome
    public var counts: RunCounts
    /// Changes that events should have delivered but did not.
    public var drift: Int
    /// Users whose record changed in `User.LastLogon` alone: counted apart from the drift, as a
    /// connector whose hook leaves sign-ins out (`event_types: changes`) expects them (SPEC §20).
    public var lastLogonUpdates: Int
    /// Okta calls by endpoint.
    public var oktaCalls: [String: Int]
    /// `429` answers received.
    public var rateLimited: Int
    public var errors: [String]
    /// The process that ran it (`host pid incarnation`), when recorded.
    public var owner: String?
    /// Whether the changes the run queued reached the sink, when the process that ran it forwarded
    /// them itself (the `reconcile` command); `nil` when the forwarder of `serve` sends them, as it
    /// sends every change (SPEC §15).
    public var forwarded: Bool?

    /// Creates a run record.
    public init(
        id: Int64, connector: String, trigger: RunTrigger, dryRun: Bool = false, startedAt: Timestamp,
        endedAt: Timestamp? = nil, outcome: RunOutcome = .running, counts: RunCounts = RunCounts(), drift: Int = 0,
        oktaCalls: [String: Int] = [:], rateLimited: Int = 0, errors: [String] = [], owner: String? = nil,
        forwarded: Bool? = nil, lastLogonUpdates: Int = 0
    ) {
        self.lastLogonUpdates = lastLogonUpdates
        self.forwarded = forwarded
        self.owner = owner
        self.id = id
        self.connector = connector
        self.trigger = trigger
        self.dryRun = dryRun
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.outcome = outcome
        self.counts = counts
        self.drift = drift
        self.oktaCalls = oktaCalls
        self.rateLimited = rateLimited
        self.errors = errors
    }
}

/// A connector's schedule bookkeeping (SPEC §7).
public struct ScheduleState: Sendable, Hashable {
    public var connector: String
    /// The due time of the last scheduled run.
    public var lastDueAt: Timestamp?
    public var lastStartedAt: Timestamp?
    public var lastSucceededAt: Timestamp?
    /// The next due time, for status output.
    public var nextDueAt: Timestamp?

    /// Creates a schedule state.
    public init(
        connector: String, lastDueAt: Timestamp? = nil, lastStartedAt: Timestamp? = nil,
        lastSucceededAt: Timestamp? = nil, nextDueAt: Timestamp? = nil
    ) {
        self.connector = connector
        self.lastDueAt = lastDueAt
        self.lastStartedAt = lastStartedAt
        self.lastSucceededAt = lastSucceededAt
        self.nextDueAt = nextDueAt
    }
}

/// A user's enrichment staged by a bulk plan.
public struct StagedEnrichment: Sendable, Hashable {
    public var apps: [AssignedApp]
    public var devices: [DeviceSummary]
    public var groups: [GroupMembership]

    /// Creates staged enrichment.
    public init(apps: [AssignedApp] = [], devices: [DeviceSummary] = [], groups: [GroupMembership] = []) {
        self.apps = apps
        self.devices = devices
        self.groups = groups
    }
}

/// A connector's run lease: which process runs its reconcile now, across processes sharing the
/// store (SPEC §6: one run at a time per connector, whatever started it).
public struct RunLease: Sendable, Hashable {
    public var connector: String
    /// `host pid incarnation` of the holder (``ProcessIdentity``).
    public var holder: String
    public var acquiredAt: Timestamp
    /// When the lease lapses unless renewed: a holder that hangs or loses the store frees it.
    public var expiresAt: Timestamp

    /// Creates a lease.
    public init(connector: String, holder: String, acquiredAt: Timestamp, expiresAt: Timestamp) {
        self.connector = connector
        self.holder = holder
        self.acquiredAt = acquiredAt
        self.expiresAt = expiresAt
    }

    /// The holder as a process identity, when it parses.
    public var holderIdentity: ProcessIdentity? { ProcessIdentity(description: holder) }
}

/// The answer to a lease request.
public enum RunLeaseAcquisition: Sendable, Hashable {
    /// The caller holds the lease now.
    case acquired
    /// Another live process holds it.
    case held(RunLease)
}

/// A connector's worker lease: which replica runs its applier, scheduler and forwarder.
public struct WorkerLease: Sendable, Hashable {
    public var connector: String
    /// `host pid incarnation` of the holder (``ProcessIdentity``).
    public var holder: String
    /// Grows by one each time the lease changes hands: a fencing token.
    public var epoch: Int64
    /// When the lease lapses unless renewed.
    public var expiresAt: Timestamp

    /// Creates a lease.
    public init(connector: String, holder: String, epoch: Int64, expiresAt: Timestamp) {
        self.connector = connector
        self.holder = holder
        self.epoch = epoch
        self.expiresAt = expiresAt
    }

    /// The holder as a process identity, when it parses.
    public var holderIdentity: ProcessIdentity? { ProcessIdentity(description: holder) }
}

/// Where a connector's System Log polling stands, kept in the same transaction as the events each
/// poll stored (SPEC §17), with what status output shows about it.
public struct SystemLogCursor: Sendable, Hashable {
    public var connector: String
    /// The `next` link of the last page stored: the next poll follows it (Okta's polling pattern).
    public var nextURL: String?
    /// The newest `published` among the events polling read, for the lag and an overlap restart.
    public var newestPublished: Timestamp?
    /// The `uuid` of that event.
    public var newestUUID: String?
    /// When the last poll ended, whatever its outcome.
    public var lastPollAt: Timestamp?
    /// The last poll's outcome for operators: `ok`, or `failed: <reason>`.
    public var lastOutcome: String?
    /// When a poll last succeeded.
    public var lastSucceededAt: Timestamp?
    /// Events polling stored that no hook had delivered before (every new event with `system_log`).
    public var polledEvents: Int64
    /// With `both`: events polling stored after the hook grace, i.e. deliveries Okta missed.
    public var missedDeliveries: Int64

    /// Creates the model.
    public init(
        connector: String, nextURL: String? = nil, newestPublished: Timestamp? = nil, newestUUID: String? = nil,
        lastPollAt: Timestamp? = nil, lastOutcome: String? = nil, lastSucceededAt: Timestamp? = nil,
        polledEvents: Int64 = 0, missedDeliveries: Int64 = 0
    ) {
        self.connector = connector
        self.nextURL = nextURL
        self.newestPublished = newestPublished
        self.newestUUID = newestUUID
        self.lastPollAt = lastPollAt
        self.lastOutcome = lastOutcome
        self.lastSucceededAt = lastSucceededAt
        self.polledEvents = polledEvents
        self.missedDeliveries = missedDeliveries
    }
}

/// One page of polled System Log events to store, with the cursor position after it.
public struct PolledEventPage: Sendable, Hashable {
    public var connector: String
    /// The events to add to the inbox (deduplicated by `uuid` with hook deliveries).
    public var events: [InboxEvent]
    /// The link to follow next; `nil` keeps the stored one (a page read again later).
    public var nextURL: String?
    /// Whether events new to the inbox count as missed deliveries (`both`).
    public var newEventsAreMissedDeliveries: Bool
    public var receivedAt: Timestamp
    /// The worker lease the poller believes it holds: the page (and its cursor) is refused unless
    /// the store's lease is still exactly this one, so a replica that lost the connector never moves
    /// the cursor back.
    public var fence: WorkerFence?

    /// Creates a page.
    public init(
        connector: String, events: [InboxEvent], nextURL: String?, newEventsAreMissedDeliveries: Bool,
        receivedAt: Timestamp, fence: WorkerFence? = nil
    ) {
        self.fence = fence
        self.connector = connector
        self.events = events
        self.nextURL = nextURL
        self.newEventsAreMissedDeliveries = newEventsAreMissedDeliveries
        self.receivedAt = receivedAt
    }

    /// The `event_id` column of polled events: they came in no hook delivery.
    public static let eventId = "system-log"
}

/// Okta's last answer to a connector's credentials (SPEC §19).
public struct OktaContact: Sendable, Hashable {
    /// When Okta last accepted a call.
    public var lastAcceptedAt: Timestamp?
    /// The last rejection, unless a call was accepted after it.
    public var rejection: OktaRejection?
    /// How far Okta's clock is ahead of this host's (negative: behind), from the `Date` header of
    /// Okta's answers (SPEC §20), and when it was measured.
    public var clock: OktaClockOffset?
    /// What the hook monitor last found wrong with the connector's hooks in Okta, with the command
    /// that puts it right.
    public var hookWarning: String?

    /// Creates the record.
    public init(
        lastAcceptedAt: Timestamp?, rejection: OktaRejection?, clock: OktaClockOffset? = nil, hookWarning: String? = nil
    ) {
        self.lastAcceptedAt = lastAcceptedAt
        self.rejection = rejection
        self.clock = clock
        self.hookWarning = hookWarning
    }
}

/// How far Okta's clock is ahead of the local one, as measured at a time (SPEC §20).
public struct OktaClockOffset: Sendable, Hashable {
    /// Okta's time minus local time, in seconds (negative: Okta is behind).
    public var seconds: Double
    public var measuredAt: Timestamp

    /// Creates the offset.
    public init(seconds: Double, measuredAt: Timestamp) {
        self.seconds = seconds
        self.measuredAt = measuredAt
    }

    /// Offsets smaller than this are the `Date` header's one-second resolution, not worth a word.
    public static let noticeable: Double = 2

    /// `Okta's clock is 120 s behind this host's`, or `nil` when the offset is not noticeable.
    public var summary: String? {
        guard abs(seconds) >= Self.noticeable else { return nil }
        return "Okta's clock is \(Int(abs(seconds).rounded())) s \(seconds < 0 ? "behind" : "ahead of") this host's"
            + " (measured \(measuredAt.iso8601); lags are corrected for it)"
    }

    /// When a time stamped by Okta's clock happened on the local clock.
    public func local(_ oktaTime: Timestamp) -> Date { oktaTime.date.addingTimeInterval(-seconds) }
}

extension Optional where Wrapped == OktaClockOffset {
    /// The age, on the local clock, of a time Okta stamped: corrected by the offset when one is known.
    public func age(of oktaTime: Timestamp, now: Date) -> TimeInterval {
        max(0, now.timeIntervalSince(self?.local(oktaTime) ?? oktaTime.date))
    }
}

/// Okta refused a connector's credentials: when, and what it said (naming the credential).
public struct OktaRejection: Sendable, Hashable {
    public var at: Timestamp
    public var reason: String

    /// Creates the record.
    public init(at: Timestamp, reason: String) {
        self.at = at
        self.reason = reason
    }
}
