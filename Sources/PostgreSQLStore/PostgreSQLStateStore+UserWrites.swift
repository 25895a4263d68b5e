import ConnectorDomain
public import ConnectorStore
import Foundation
import Logging
import PostgresNIO

/// The batch write: the rows the batch names are read locked, ``UserWritePlan`` decides, and each
/// round's rows are written set-based (`unnest`), a statement per kind of row.
extension PostgreSQLStateStore {
    /// An unknown Okta `lastUpdated` travels as this value in a `bigint[]` (NULL in the table).
    static let noOktaUpdate = Int64.min

    public func commit(_ batch: UserWriteBatch) async throws -> [UserWriteOutcome] {
        let encoded = UserWritePlan.EncodedBatch(batch)
        let logger = logger
        return try await transaction { connection in
            try await Self.check(batch.fence, connector: batch.connector, at: batch.at, on: connection, logger: logger)
            try await Self.check(batch.runFence, connector: batch.connector, on: connection, logger: logger)
            let existing = try await Self.existingUsers(
                encoded.userIds, connector: batch.connector, on: connection, logger: logger)
            let plan = UserWritePlan(encoded, existing: existing)
            let writer = RoundWriter(batch: batch, connection: connection, logger: logger)
            for round in plan.rounds {
                try await writer.write(round)
            }
            try await writer.enqueue(plan.outbox)
            try await writer.markApplied(batch.appliedInboxEvents)
            return plan.outcomes
        }
    }

    /// Refuses a write whose run lease (its fence) is not the store's lease any more. Held until
    /// commit, like the worker lease: a process taking the run lease over waits for this write or
    /// finds it done.
    /// - Throws: ``StoreError/runFenced(connector:holder:)``.
    static func check(
        _ runFence: RunFence?, connector: String, on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard let runFence else { return }
        var lease: RunLease?
        for try await (holder, acquired, expires) in try await connection.query(
            "SELECT holder, acquired_at, expires_at FROM run_leases WHERE connector = \(connector) FOR SHARE",
            logger: logger
        ).decode((String, Int64, Int64).self) {
            lease = RunLease(
                connector: connector, holder: holder, acquiredAt: Timestamp(millisecondsSinceEpoch: acquired),
                expiresAt: Timestamp(millisecondsSinceEpoch: expires))
        }
        // Lease times are wall-clock times shared between processes, whatever the writer's clock.
        guard runFence.admits(lease, at: Timestamp(Date())) else {
            throw StoreError.runFenced(connector: connector, holder: runFence.holder)
        }
    }

    /// The stored rows of users, locked until commit (removed ones included).
    static func existingUsers(
        _ userIds: [String], connector: String, on connection: PostgresConnection, logger: Logger
    ) async throws -> [String: ExistingUserRow] {
        guard !userIds.isEmpty else { return [:] }
        var existing: [String: ExistingUserRow] = [:]
        let selected = try await connection.query(
            """
            SELECT user_id, version, record_hash, removed_at, okta_updated_at FROM users
            WHERE connector = \(connector) AND user_id = ANY(\(userIds)) FOR UPDATE
            """, logger: logger)
        for try await (id, version, hash, removed, oktaUpdated) in selected.decode(
            (String, Int64, String?, Int64?, Int64?).self)
        {
            existing[id] = ExistingUserRow(
                version: version, recordHash: hash, isRemoved: removed != nil, oktaUpdatedAt: oktaUpdated)
        }
        return existing
    }

    /// Renders a plan's rows as set-based statements on the transaction's connection.
    struct RoundWriter {
        let connector: String
        let seenInRun: Int64?
        let now: Int64
        let connection: PostgresConnection
        let logger: Logger

        init(batch: UserWriteBatch, connection: PostgresConnection, logger: Logger) {
            connector = batch.connector
            seenInRun = batch.seenInRun
            now = batch.at.millisecondsSinceEpoch
            self.connection = connection
            self.logger = logger
        }

        func write(_ round: UserWritePlan.Round) async throws {
            try await upsert(round.writes)
            try await touch(round.touches)
            try await markSeen(round.staleUserIds)
            try await remove(round.removals)
            try await keep(round.keptDigests)
            try await forgetDigests(of: round.forgottenDigestUserIds)
        }

        func upsert(_ writes: [UserWritePlan.Write]) async throws {
            guard !writes.isEmpty else { return }
            let (ids, status, snapshot) = (writes.map(\.userId), writes.map(\.status), writes.map(\.snapshotJSON))
            let (record, hash, version) = (writes.map(\.recordJSON), writes.map(\.recordHash), writes.map(\.version))
            let oktaUpdated = writes.map { $0.oktaUpdatedAt ?? PostgreSQLStateStore.noOktaUpdate }
            try await connection.query(
                """
                INSERT INTO users (connector, user_id, status, snapshot_json, record_json, record_hash, version,
                    last_seen_run, removed_at, updated_at, okta_updated_at)
                SELECT \(connector), u.id, u.status, u.snapshot, u.record, u.hash, u.version, \(seenInRun), NULL, \(now),
                    NULLIF(u.okta_updated, \(PostgreSQLStateStore.noOktaUpdate))
                FROM unnest(\(ids)::text[], \(status)::text[], \(snapshot)::text[], \(record)::text[],
                    \(hash)::text[], \(version)::bigint[], \(oktaUpdated)::bigint[])
                    AS u(id, status, snapshot, record, hash, version, okta_updated)
                ON CONFLICT (connector, user_id) DO UPDATE SET status = excluded.status,
                    snapshot_json = excluded.snapshot_json, record_json = excluded.record_json,
                    record_hash = excluded.record_hash, version = excluded.version,
                    last_seen_run = COALESCE(excluded.last_seen_run, users.last_seen_run),
                    removed_at = NULL, updated_at = excluded.updated_at, okta_updated_at = excluded.okta_updated_at
                """, logger: logger)
        }

        func touch(_ touches: [UserWritePlan.Touch]) async throws {
            guard !touches.isEmpty else { return }
            let (ids, status, snapshot) = (touches.map(\.userId), touches.map(\.status), touches.map(\.snapshotJSON))
            let oktaUpdated = touches.map { $0.oktaUpdatedAt ?? PostgreSQLStateStore.noOktaUpdate }
            try await connection.query(
                """
                UPDATE users SET status = u.status, snapshot_json = u.snapshot,
                    last_seen_run = COALESCE(\(seenInRun), users.last_seen_run),
                    okta_updated_at = NULLIF(u.okta_updated, \(PostgreSQLStateStore.noOktaUpdate)), updated_at = \(now)
                FROM unnest(\(ids)::text[], \(status)::text[], \(snapshot)::text[],
                    \(oktaUpdated)::bigint[]) AS u(id, status, snapshot, okta_updated)
                WHERE users.connector = \(connector) AND users.user_id = u.id
                """, logger: logger)
        }

        /// Stale reads: a run that listed the user still saw it.
        func markSeen(_ staleUserIds: [String]) async throws {
            guard let seenInRun, !staleUserIds.isEmpty else { return }
            try await connection.query(
                """
                UPDATE users SET last_seen_run = \(seenInRun)
                WHERE connector = \(connector) AND user_id = ANY(\(staleUserIds))
                """, logger: logger)
        }

        func remove(_ removals: [UserWritePlan.Removal]) async throws {
            guard !removals.isEmpty else { return }
            let (ids, version) = (removals.map(\.userId), removals.map(\.version))
            try await connection.query(
                """
                UPDATE users SET record_json = NULL, record_hash = NULL, version = u.version, removed_at = \(now),
                    updated_at = \(now)
                FROM unnest(\(ids)::text[], \(version)::bigint[]) AS u(id, version)
                WHERE users.connector = \(connector) AND users.user_id = u.id
                """, logger: logger)
        }

        func keep(_ digests: [UserWritePlan.KeptDigest]) async throws {
            guard !digests.isEmpty else { return }
            let (ids, values) = (digests.map(\.userId), digests.map(\.digest))
            try await connection.query(
                """
                INSERT INTO user_digests (connector, user_id, raw_digest, seen_run)
                SELECT \(connector), d.id, d.digest, NULL FROM unnest(\(ids)::text[], \(values)::text[])
                    AS d(id, digest)
                ON CONFLICT (connector, user_id) DO UPDATE SET raw_digest = excluded.raw_digest, seen_run = NULL
                """, logger: logger)
        }

        func forgetDigests(of userIds: [String]) async throws {
            guard !userIds.isEmpty else { return }
            try await connection.query(
                "DELETE FROM user_digests WHERE connector = \(connector) AND user_id = ANY(\(userIds))",
                logger: logger)
        }

        /// One statement, in the plan's order (the outbox's `seq` order).
        func enqueue(_ outbox: [UserWritePlan.QueuedChange]) async throws {
            guard !outbox.isEmpty else { return }
            let (ids, op, version) = (outbox.map(\.userId), outbox.map(\.operation.rawValue), outbox.map(\.version))
            // No record (a delete) travels as '' (NULL in the table).
            let record = outbox.map { $0.recordJSON ?? "" }
            try await connection.query(
                """
                INSERT INTO outbox (connector, user_id, op, version, record_json, created_at, attempts, next_attempt_at)
                SELECT \(connector), q.id, q.op, q.version, NULLIF(q.record, ''), \(now), 0, \(now)
                FROM unnest(\(ids)::text[], \(op)::text[], \(version)::bigint[], \(record)::text[])
                    WITH ORDINALITY AS q(id, op, version, record, position)
                ORDER BY q.position
                """, logger: logger)
        }

        func markApplied(_ seqs: [Int64]) async throws {
            guard !seqs.isEmpty else { return }
            try await connection.query(
                """
                UPDATE inbox_events SET applied_at = \(now), failed_at = NULL
                WHERE connector = \(connector) AND applied_at IS NULL AND seq = ANY(\(seqs))
                """, logger: logger)
        }
    }
}
