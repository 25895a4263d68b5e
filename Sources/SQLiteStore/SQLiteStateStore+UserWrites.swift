import ConnectorDomain
public import ConnectorStore
import Foundation
internal import GRDB

/// The batch write: the rows the batch names are read, ``UserWritePlan`` decides, and each round's
/// rows are written, a cached statement per row.
extension SQLiteStateStore {
    public func commit(_ batch: UserWriteBatch) async throws -> [UserWriteOutcome] {
        // Encode outside the write transaction: the writer is shared, keep its time short.
        let encoded = UserWritePlan.EncodedBatch(batch)
        return try await pool.write { db in
            try Self.check(batch.fence, connector: batch.connector, at: batch.at, in: db)
            try Self.check(batch.runFence, connector: batch.connector, in: db)
            let existing = try Self.existingUsers(encoded.userIds, connector: batch.connector, in: db)
            let plan = UserWritePlan(encoded, existing: existing)
            let writer = RoundWriter(batch: batch, db: db)
            for round in plan.rounds {
                try writer.write(round)
            }
            try writer.enqueue(plan.outbox)
            if !batch.appliedInboxEvents.isEmpty {
                try Self.markApplied(db, connector: batch.connector, seqs: batch.appliedInboxEvents, at: writer.now)
            }
            return plan.outcomes
        }
    }

    /// Refuses a write whose run lease (its fence) is not the store's lease any more; inside the
    /// write transaction, so no takeover can come between the check and the write.
    /// - Throws: ``StoreError/runFenced(connector:holder:)``.
    static func check(_ runFence: RunFence?, connector: String, in db: Database) throws {
        guard let runFence else { return }
        let lease = try Row.fetchOne(db, sql: "SELECT * FROM run_leases WHERE connector = ?", arguments: [connector])
            .map(Self.runLease)
        // Lease times are wall-clock times shared between processes, whatever the writer's clock.
        guard runFence.admits(lease, at: Timestamp(Date())) else {
            throw StoreError.runFenced(connector: connector, holder: runFence.holder)
        }
    }

    /// The stored rows of users (removed ones included).
    static func existingUsers(_ userIds: [String], connector: String, in db: Database) throws -> [String:
        ExistingUserRow]
    {
        let select = try db.cachedStatement(
            sql: """
                SELECT version, record_hash, removed_at, okta_updated_at FROM users
                WHERE connector = ? AND user_id = ?
                """)
        var existing: [String: ExistingUserRow] = [:]
        for userId in userIds {
            guard let row = try Row.fetchOne(select, arguments: [connector, userId]) else { continue }
            existing[userId] = ExistingUserRow(
                version: row["version"], recordHash: row["record_hash"],
                isRemoved: (row["removed_at"] as Int64?) != nil, oktaUpdatedAt: row["okta_updated_at"])
        }
        return existing
    }

    /// Renders a plan's rows as statements inside the write transaction.
    struct RoundWriter {
        let connector: String
        let seenInRun: Int64?
        let now: Int64
        let db: Database

        init(batch: UserWriteBatch, db: Database) {
            connector = batch.connector
            seenInRun = batch.seenInRun
            now = batch.at.millisecondsSinceEpoch
            self.db = db
        }

        func write(_ round: UserWritePlan.Round) throws {
            for write in round.writes { try upsert(write) }
            for touch in round.touches { try self.touch(touch) }
            // Stale reads: a run that listed the user still saw it.
            if let seenInRun {
                for userId in round.staleUserIds {
                    try db.cachedStatement(
                        sql: "UPDATE users SET last_seen_run = ? WHERE connector = ? AND user_id = ?"
                    ).execute(arguments: [seenInRun, connector, userId])
                }
            }
            for removal in round.removals { try remove(removal) }
            for kept in round.keptDigests { try keep(kept) }
            for userId in round.forgottenDigestUserIds {
                try db.cachedStatement(sql: "DELETE FROM user_digests WHERE connector = ? AND user_id = ?")
                    .execute(arguments: [connector, userId])
            }
        }

        func upsert(_ write: UserWritePlan.Write) throws {
            try db.cachedStatement(
                sql: """
                    INSERT INTO users (connector, user_id, status, snapshot_json, record_json, record_hash, version,
                        last_seen_run, removed_at, updated_at, okta_updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)
                    ON CONFLICT (connector, user_id) DO UPDATE SET status = excluded.status,
                        snapshot_json = excluded.snapshot_json, record_json = excluded.record_json,
                        record_hash = excluded.record_hash, version = excluded.version,
                        last_seen_run = COALESCE(excluded.last_seen_run, users.last_seen_run),
                        removed_at = NULL, updated_at = excluded.updated_at,
                        okta_updated_at = excluded.okta_updated_at
                    """
            ).execute(arguments: [
                connector, write.userId, write.status, write.snapshotJSON, write.recordJSON, write.recordHash,
                write.version, seenInRun, now, write.oktaUpdatedAt,
            ])
        }

        func touch(_ touch: UserWritePlan.Touch) throws {
            try db.cachedStatement(
                sql: """
                    UPDATE users SET status = ?, snapshot_json = ?, last_seen_run = COALESCE(?, last_seen_run),
                    okta_updated_at = ?, updated_at = ? WHERE connector = ? AND user_id = ?
                    """
            ).execute(arguments: [
                touch.status, touch.snapshotJSON, seenInRun, touch.oktaUpdatedAt, now, connector, touch.userId,
            ])
        }

        func remove(_ removal: UserWritePlan.Removal) throws {
            try db.cachedStatement(
                sql: """
                    UPDATE users SET record_json = NULL, record_hash = NULL, version = ?, removed_at = ?,
                    updated_at = ? WHERE connector = ? AND user_id = ?
                    """
            ).execute(arguments: [removal.version, now, now, connector, removal.userId])
        }

        func keep(_ kept: UserWritePlan.KeptDigest) throws {
            try db.cachedStatement(
                sql: """
                    INSERT INTO user_digests (connector, user_id, raw_digest, seen_run) VALUES (?, ?, ?, NULL)
                    ON CONFLICT (connector, user_id) DO UPDATE SET raw_digest = excluded.raw_digest, seen_run = NULL
                    """
            ).execute(arguments: [connector, kept.userId, kept.digest])
        }

        /// In the plan's order (the outbox's `seq` order).
        func enqueue(_ outbox: [UserWritePlan.QueuedChange]) throws {
            for change in outbox {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO outbox (connector, user_id, op, version, record_json, created_at, attempts,
                            next_attempt_at)
                        VALUES (?, ?, ?, ?, ?, ?, 0, ?)
                        """
                ).execute(arguments: [
                    connector, change.userId, change.operation.rawValue, change.version, change.recordJSON, now, now,
                ])
            }
        }
    }
}
