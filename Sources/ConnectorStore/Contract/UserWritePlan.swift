import ConnectorDomain

/// What the write decisions need of a user's row as the store has it.
public struct ExistingUserRow: Sendable, Hashable {
    /// The per-user version; only grows.
    public var version: Int64
    /// The hash of the mapped record; `nil` once removed.
    public var recordHash: String?
    /// Whether the user was removed downstream.
    public var isRemoved: Bool
    /// Okta's `lastUpdated` of the stored read (milliseconds), when known.
    public var oktaUpdatedAt: Int64?

    /// Creates the row.
    public init(version: Int64, recordHash: String?, isRemoved: Bool, oktaUpdatedAt: Int64?) {
        self.version = version
        self.recordHash = recordHash
        self.isRemoved = isRemoved
        self.oktaUpdatedAt = oktaUpdatedAt
    }
}

/// The write decisions of ``StateStore/commit(_:)``, shared by the backends: from a batch and the
/// rows of the users it names, what each change does and which rows each backend writes. A backend
/// reads the rows, makes the plan and renders it as SQL, so the backends cannot decide differently.
///
/// A batch naming a user twice applies its changes in order: the changes are split into rounds of
/// distinct users (a user's second change is in the next round), and each change is decided on the
/// row as the changes before it left it. So a backend reads the rows once, before the first round.
public struct UserWritePlan: Sendable {
    /// An upsert whose record is new or changed: the row is inserted or replaced and queued.
    public struct Write: Sendable, Hashable {
        public var userId: String
        public var status: String
        public var snapshotJSON: String
        public var recordJSON: String
        public var recordHash: String
        /// The new version.
        public var version: Int64
        public var oktaUpdatedAt: Int64?
    }

    /// An upsert of a present user whose record is unchanged: its status, snapshot and Okta update
    /// time are refreshed, its version and record kept, nothing queued.
    public struct Touch: Sendable, Hashable {
        public var userId: String
        public var status: String
        public var snapshotJSON: String
        public var oktaUpdatedAt: Int64?
    }

    /// A removal of a present user: its record cleared, its version raised.
    public struct Removal: Sendable, Hashable {
        public var userId: String
        /// The new version.
        public var version: Int64

        /// Creates a removal.
        public init(userId: String, version: Int64) {
            self.userId = userId
            self.version = version
        }
    }

    /// A raw-input digest stored with a written or touched user.
    public struct KeptDigest: Sendable, Hashable {
        public var userId: String
        public var digest: String

        /// Creates the pair.
        public init(userId: String, digest: String) {
            self.userId = userId
            self.digest = digest
        }
    }

    /// One outbox entry to insert.
    public struct QueuedChange: Sendable, Hashable {
        public var userId: String
        public var operation: OutboxOperation
        public var version: Int64
        /// Canonical JSON of the attributes; `nil` for a delete.
        public var recordJSON: String?
    }

    /// The rows one round writes; each user appears at most once in a round.
    public struct Round: Sendable, Hashable {
        public var writes: [Write] = []
        public var touches: [Touch] = []
        /// Older reads than the stored ones: only their `last_seen_run` moves (when the batch has a run).
        public var staleUserIds: [String] = []
        public var removals: [Removal] = []
        public var keptDigests: [KeptDigest] = []
        /// Written or removed users whose stored digest is deleted: only a row made from the
        /// digested read may be skipped by the next reconcile.
        public var forgottenDigestUserIds: [String] = []
    }

    /// A batch with its snapshots and records encoded, done before the write transaction (the
    /// writer is shared: keep its time short).
    public struct EncodedBatch: Sendable {
        /// The batch.
        public let batch: UserWriteBatch
        let changes: [EncodedChange]
        /// The users the batch names, each once, in the order first named: the rows to read.
        public let userIds: [String]

        /// Encodes a batch.
        public init(_ batch: UserWriteBatch) {
            self.batch = batch
            changes = batch.changes.map(EncodedChange.init)
            var seen = Set<String>()
            userIds = batch.changes.map(\.userId).filter { seen.insert($0).inserted }
        }
    }

    /// One change with what its write needs encoded.
    enum EncodedChange: Sendable {
        case upsert(
            userId: String, status: String, oktaUpdatedAt: Int64?, snapshotJSON: String, record: String, hash: String)
        case remove(userId: String)

        init(_ change: UserChange) {
            switch change {
            case .upsert(let snapshot, let record):
                let (recordJSON, hash) = record.canonicalForms
                self = .upsert(
                    userId: snapshot.user.id, status: snapshot.user.status,
                    oktaUpdatedAt: snapshot.user.lastUpdated?.millisecondsSinceEpoch,
                    snapshotJSON: snapshot.encodedJSON, record: recordJSON, hash: hash)
            case .remove(let userId, _):
                self = .remove(userId: userId)
            }
        }
    }

    /// What each change did, in the batch's order.
    public private(set) var outcomes: [UserWriteOutcome] = []
    /// The rounds, written in order.
    public private(set) var rounds: [Round] = []
    /// The outbox entries, in the batch's order (inserted after the rounds).
    public private(set) var outbox: [QueuedChange] = []
    /// The rows as the changes decided so far left them.
    private var rows: [String: ExistingUserRow]

    /// Decides a batch.
    /// - Parameters:
    ///   - encoded: The batch.
    ///   - existing: The stored rows of the users it names (``EncodedBatch/userIds``) before the
    ///     batch, removed ones included; a user without a row is absent.
    public init(_ encoded: EncodedBatch, existing: [String: ExistingUserRow]) {
        rows = existing
        var roundOfUser: [String: Int] = [:]
        for change in encoded.changes {
            let userId = change.userId
            let round = roundOfUser[userId].map { $0 + 1 } ?? 0
            roundOfUser[userId] = round
            if rounds.count <= round { rounds.append(Round()) }
            switch change {
            case .upsert(_, let status, let oktaUpdatedAt, let snapshotJSON, let record, let hash):
                let write = Write(
                    userId: userId, status: status, snapshotJSON: snapshotJSON, recordJSON: record, recordHash: hash,
                    version: 0, oktaUpdatedAt: oktaUpdatedAt)
                outcomes.append(decideUpsert(write, digest: encoded.batch.rawDigests[userId], round: round))
            case .remove:
                outcomes.append(decideRemoval(of: userId, round: round))
            }
        }
    }

    /// An upsert: stale when the stored read is newer, a touch when the present record is the same,
    /// else a write with the next version.
    private mutating func decideUpsert(_ proposed: Write, digest: String?, round: Int) -> UserWriteOutcome {
        let userId = proposed.userId
        let stored = rows[userId]
        if let storedUpdate = stored?.oktaUpdatedAt, let update = proposed.oktaUpdatedAt, update < storedUpdate {
            // A refresh raced a reconcile: keep the newer read; a run that listed the user still saw it.
            rounds[round].staleUserIds.append(userId)
            return .stale
        }
        let present = stored.map { !$0.isRemoved } ?? false
        if let digest {
            rounds[round].keptDigests.append(KeptDigest(userId: userId, digest: digest))
        } else {
            rounds[round].forgottenDigestUserIds.append(userId)
        }
        if present, let stored, stored.recordHash == proposed.recordHash {
            rounds[round].touches.append(
                Touch(
                    userId: userId, status: proposed.status, snapshotJSON: proposed.snapshotJSON,
                    oktaUpdatedAt: proposed.oktaUpdatedAt))
            rows[userId]?.oktaUpdatedAt = proposed.oktaUpdatedAt
            return .unchanged
        }
        var write = proposed
        write.version = (stored?.version ?? 0) + 1
        rounds[round].writes.append(write)
        outbox.append(
            QueuedChange(userId: userId, operation: .upsert, version: write.version, recordJSON: write.recordJSON))
        rows[userId] = ExistingUserRow(
            version: write.version, recordHash: write.recordHash, isRemoved: false, oktaUpdatedAt: write.oktaUpdatedAt)
        return present ? .updated(version: write.version) : .created(version: write.version)
    }

    /// A removal: of a present user only; its version grows and its digest is forgotten.
    private mutating func decideRemoval(of userId: String, round: Int) -> UserWriteOutcome {
        guard let stored = rows[userId], !stored.isRemoved else { return .alreadyAbsent }
        let version = stored.version + 1
        rounds[round].removals.append(Removal(userId: userId, version: version))
        rounds[round].forgottenDigestUserIds.append(userId)
        outbox.append(QueuedChange(userId: userId, operation: .delete, version: version, recordJSON: nil))
        // The Okta update time stays: a removal does not clear it.
        rows[userId] = ExistingUserRow(
            version: version, recordHash: nil, isRemoved: true, oktaUpdatedAt: stored.oktaUpdatedAt)
        return .removed(version: version)
    }
}

extension UserWritePlan.EncodedChange {
    var userId: String {
        switch self {
        case .upsert(let userId, _, _, _, _, _), .remove(let userId): return userId
        }
    }
}
