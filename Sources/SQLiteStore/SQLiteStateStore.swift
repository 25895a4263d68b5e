public import ConnectorDomain
public import ConnectorStore
import Foundation
internal import GRDB

/// The embedded store: one SQLite file in WAL mode (SPEC §10), through GRDB.
///
/// `synchronous = FULL` makes every committed transaction survive a power loss, not only a crash;
/// the receiver group-commits deliveries so that this costs one sync per batch, not per request.
public final class SQLiteStateStore: StateStore {
    let pool: DatabasePool
    /// The database file.
    public let path: String

    /// Opens (creating if needed) the database file and applies pending migrations.
    /// - Parameters:
    ///   - path: The SQLite file.
    ///   - access: The mode and group of the file and its `-wal` and `-shm` side files (they hold
    ///     personal data): `0600` by default.
    /// - Throws: ``StoreError`` when the file cannot be opened or comes from a newer version.
    public init(path: String, access: PrivateFileAccess = .ownerOnly) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        do {
            // Created with its access before SQLite opens it: SQLite gives the `-wal` and `-shm`
            // files it creates the database file's mode. Files made by an older version are narrowed.
            try access.create(path)
            pool = try DatabasePool(path: path, configuration: configuration)
            for sideFile in [path, path + "-wal", path + "-shm", path + "-journal"] {
                try access.apply(to: sideFile)
            }
        } catch {
            throw StoreError.cannotOpen(location: path, reason: "\(error)")
        }
        let migrator = SQLiteSchema.migrator
        try Self.enableIncrementalVacuum(pool)
        let unknown = try pool.read { db -> [String] in
            let applied = try migrator.appliedIdentifiers(db)
            return applied.subtracting(Set(migrator.migrations)).sorted()
        }
        guard unknown.isEmpty else { throw StoreError.schemaFromNewerVersion(unknownMigrations: unknown) }
        try migrator.migrate(pool)
    }

    /// Space freed by pruning goes back to the file system with `PRAGMA incremental_vacuum`, which
    /// needs `auto_vacuum = INCREMENTAL`; a file made before that setting is converted once (VACUUM).
    static func enableIncrementalVacuum(_ pool: DatabasePool) throws {
        do {
            try pool.writeWithoutTransaction { db in
                let mode = try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") ?? 0
                guard mode != 2 else { return }
                try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
                try db.execute(sql: "VACUUM")
            }
        } catch {
            throw StoreError.cannotOpen(location: "", reason: "cannot enable incremental vacuum: \(error)")
        }
    }

    /// This process, as recorded on the runs it starts: host, process id and a per-process random
    /// id (a restarted container can reuse the process id of the one that died).
    static let processIdentity = ProcessIdentity.current

    /// The migrations applied to the file, in order.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try SQLiteSchema.migrator.appliedMigrations(db) }
    }

    public func isReady() async -> Bool {
        do {
            return try await pool.read { db in try SQLiteSchema.migrator.hasCompletedMigrations(db) }
        } catch {
            return false
        }
    }

    /// Nothing to run: the file's connections open on demand.
    public func run() async {}

    /// Closes the file's connections (a checkpoint of the write-ahead log included).
    public func close() async {
        do {
            try pool.close()
        } catch {
            // Still in use: GRDB closes them when the pool goes away.
        }
    }

    // MARK: - Users

    // The batch write (`commit`) is in SQLiteStateStore+UserWrites.swift.

    /// The columns of a stored user.
    static let userColumns = "users.*"

    public func user(connector: String, id: String) async throws -> StoredUser? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT \(Self.userColumns) FROM users WHERE connector = ? AND user_id = ?",
                arguments: [connector, id]
            )
            .map(Self.storedUser)
        }
    }

    public func presentUsers(connector: String, after userId: String?, limit: Int) async throws -> [StoredUser] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.userColumns) FROM users WHERE connector = ? AND removed_at IS NULL AND user_id > ?
                    ORDER BY user_id LIMIT ?
                    """,
                arguments: [connector, userId ?? "", limit]
            ).map(Self.storedUser)
        }
    }

    public func presentUserCount(connector: String) async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM users WHERE connector = ? AND removed_at IS NULL", arguments: [connector]
            )
                ?? 0
        }
    }

    public func presentUserIds(connector: String, untouchedSince: Timestamp, after userId: String?, limit: Int)
        async throws -> [String]
    {
        try await pool.read { db in
            // From the `users_presence` index alone: the users' wide rows are not read.
            try String.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT user_id FROM users INDEXED BY users_presence
                        WHERE connector = ? AND user_id > ? AND removed_at IS NULL AND updated_at < ?
                        ORDER BY user_id LIMIT ?
                        """),
                arguments: [connector, userId ?? "", untouchedSince.millisecondsSinceEpoch, limit])
        }
    }

    public func recordHeldRemovals(connector: String, runId: Int64, userIds: [String]) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM held_removals WHERE connector = ?", arguments: [connector])
            let insert = try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO held_removals (connector, run_id, user_id) VALUES (?, ?, ?)")
            for userId in userIds { try insert.execute(arguments: [connector, runId, userId]) }
            // An empty list is kept too, as a row without a user, so that "nothing" is told apart
            // from "not kept".
            if userIds.isEmpty { try insert.execute(arguments: [connector, runId, ""]) }
        }
    }

    public func heldRemovals(connector: String, runId: Int64) async throws -> [String]? {
        try await pool.read { db in
            let ids = try String.fetchAll(
                db, sql: "SELECT user_id FROM held_removals WHERE connector = ? AND run_id = ? ORDER BY user_id",
                arguments: [connector, runId])
            return ids.isEmpty ? nil : ids.filter { !$0.isEmpty }
        }
    }

    /// Runs `body` for consecutive slices of at most 500 ids, with the `?,?,…` placeholders of
    /// each: SQLite limits the parameters of one statement.
    static func inChunks(_ ids: [String], _ body: (ArraySlice<String>, String) throws -> Void) rethrows {
        for start in stride(from: 0, to: ids.count, by: 500) {
            let chunk = ids[start..<min(start + 500, ids.count)]
            try body(chunk, Array(repeating: "?", count: chunk.count).joined(separator: ","))
        }
    }

    public func recordHashes(connector: String, userIds: [String]) async throws -> [String: String] {
        guard !userIds.isEmpty else { return [:] }
        return try await pool.read { db in
            var hashes: [String: String] = [:]
            try Self.inChunks(userIds) { chunk, placeholders in
                // By primary key only (see `rawDigests`).
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT user_id, record_hash, removed_at FROM users WHERE connector = ? AND user_id IN (\(placeholders))
                        """,
                    arguments: StatementArguments([connector] + Array(chunk)))
                for row in rows where row["removed_at"] as Int64? == nil { hashes[row["user_id"]] = row["record_hash"] }
            }
            return hashes
        }
    }

    public func records(connector: String, userIds: [String]) async throws -> [String: String] {
        guard !userIds.isEmpty else { return [:] }
        return try await pool.read { db in
            var records: [String: String] = [:]
            try Self.inChunks(userIds) { chunk, placeholders in
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT user_id, record_json FROM users WHERE connector = ? AND user_id IN (\(placeholders))
                        AND removed_at IS NULL
                        """,
                    arguments: StatementArguments([connector] + Array(chunk)))
                for row in rows { records[row["user_id"]] = row["record_json"] }
            }
            return records
        }
    }

    public func rawDigests(connector: String, userIds: [String]) async throws -> [String: String] {
        guard !userIds.isEmpty else { return [:] }
        return try await pool.read { db in
            var digests: [String: String] = [:]
            try Self.inChunks(userIds) { chunk, placeholders in
                let statement = try db.cachedStatement(
                    sql:
                        "SELECT user_id, raw_digest FROM user_digests WHERE connector = ? AND user_id IN (\(placeholders))"
                )
                let cursor = try Row.fetchCursor(statement, arguments: StatementArguments([connector] + Array(chunk)))
                while let row = try cursor.next() { digests[row[0]] = row[1] }
            }
            return digests
        }
    }

    public func unchangedByDigest(connector: String, digests: [String: String]) async throws -> Set<String> {
        guard !digests.isEmpty else { return [] }
        let ids = Array(digests.keys)
        return try await pool.read { db in
            var unchanged: Set<String> = []
            try Self.inChunks(ids) { chunk, placeholders in
                // The user is checked present too, so that a digest left by a writer that knows no
                // digests (an older replica during an upgrade) never keeps a removed user removed;
                // from the `users_presence` index, not the user's wide row.
                let statement = try db.cachedStatement(
                    sql: """
                        SELECT d.user_id, d.raw_digest FROM user_digests d
                        WHERE d.connector = ? AND d.user_id IN (\(placeholders))
                        AND EXISTS (SELECT 1 FROM users u INDEXED BY users_presence
                            WHERE u.connector = d.connector AND u.user_id = d.user_id AND u.removed_at IS NULL)
                        """)
                let cursor = try Row.fetchCursor(statement, arguments: StatementArguments([connector] + Array(chunk)))
                while let row = try cursor.next() {
                    let id: String = row[0]
                    if digests[id] == row[1] { unchanged.insert(id) }
                }
            }
            return unchanged
        }
    }

    // MARK: - Enrichment staging

    public func stageEnrichment(
        runId: Int64, apps: [(userId: String, app: AssignedApp)], devices: [(userId: String, device: DeviceSummary)],
        groups: [(userId: String, group: GroupMembership)]
    ) async throws {
        let rows = try EnrichmentStagingRows.encode(apps: apps, devices: devices, groups: groups)
        guard !rows.isEmpty else { return }
        try await pool.write { db in
            let insert = try db.cachedStatement(
                sql: "INSERT INTO enrichment_staging (run_id, user_id, kind, payload_json) VALUES (?, ?, ?, ?)")
            for (userId, kind, payload) in rows { try insert.execute(arguments: [runId, userId, kind, payload]) }
        }
    }

    public func stagedEnrichment(runId: Int64, userIds: [String]) async throws -> [String: StagedEnrichment] {
        guard !userIds.isEmpty else { return [:] }
        let rows = try await pool.read { db -> [(userId: String, kind: String, payload: String)] in
            var result: [(userId: String, kind: String, payload: String)] = []
            try Self.inChunks(userIds) { chunk, placeholders in
                let statement = try db.cachedStatement(
                    sql:
                        "SELECT user_id, kind, payload_json FROM enrichment_staging WHERE run_id = ? AND user_id IN (\(placeholders)) ORDER BY rowid"
                )
                let cursor = try Row.fetchCursor(statement, arguments: StatementArguments([runId] + Array(chunk)))
                while let row = try cursor.next() { result.append((row[0], row[1], row[2])) }
            }
            return result
        }
        return try EnrichmentStagingRows.decode(rows, runId: runId)
    }

    public func clearStagedEnrichment(runId: Int64) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM enrichment_staging WHERE run_id = ?", arguments: [runId])
        }
    }

    static func storedUser(_ row: Row) throws -> StoredUser {
        let connector: String = row["connector"]
        let userId: String = row["user_id"]
        let snapshot: UserSnapshot
        do {
            snapshot = try JSONCoding.decode(UserSnapshot.self, from: row["snapshot_json"])
        } catch {
            throw StoreError.corruptRow(table: "users", key: "\(connector)/\(userId)", reason: "\(error)")
        }
        return StoredUser(
            connector: connector, userId: userId, status: row["status"], snapshot: snapshot,
            recordJSON: row["record_json"], recordHash: row["record_hash"], version: row["version"],
            lastSeenRun: row["last_seen_run"],
            removedAt: timestamp(row["removed_at"]),
            updatedAt: Timestamp(millisecondsSinceEpoch: row["updated_at"]))
    }

    // MARK: - Inbox

    public func insert(_ deliveries: [InboxDelivery]) async throws -> [InboxInsertResult] {
        try await pool.write { db in
            var results: [InboxInsertResult] = []
            results.reserveCapacity(deliveries.count)
            let insertDelivery = try db.cachedStatement(
                sql: """
                    INSERT INTO inbox_deliveries (connector, event_id, received_at, event_count) VALUES (?, ?, ?, ?)
                    ON CONFLICT (connector, event_id) DO NOTHING
                    """)
            let insertEvent = try db.cachedStatement(
                sql: """
                    INSERT INTO inbox_events (connector, uuid, event_id, event_type, subject_user_id, published,
                        payload_json, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (connector, uuid) DO NOTHING
                    """)
            var counted = HookEventTally()
            for delivery in deliveries {
                try insertDelivery.execute(arguments: [
                    delivery.connector, delivery.eventId, delivery.receivedAt.millisecondsSinceEpoch,
                    delivery.events.count,
                ])
                guard db.changesCount == 1 else {
                    results.append(.duplicateDelivery)
                    continue
                }
                counted.add(delivery)
                guard !delivery.discarded else {
                    results.append(.stored(newEvents: 0, duplicateEvents: 0))
                    continue
                }
                var new = 0
                for event in delivery.events {
                    try insertEvent.execute(arguments: [
                        delivery.connector, event.uuid, delivery.eventId, event.eventType, event.subjectUserId,
                        event.published.millisecondsSinceEpoch, event.payloadJSON,
                        delivery.receivedAt.millisecondsSinceEpoch,
                    ])
                    new += db.changesCount
                }
                results.append(.stored(newEvents: new, duplicateEvents: delivery.events.count - new))
            }
            for (key, events) in counted.sorted {
                try db.execute(
                    sql: """
                        INSERT INTO hook_event_counts (connector, hour, events) VALUES (?, ?, ?)
                        ON CONFLICT (connector, hour) DO UPDATE SET events = events + excluded.events
                        """, arguments: [key.connector, key.hour, events])
            }
            return results
        }
    }

    public func hookEventCounts(connector: String, since: Timestamp) async throws -> [HourlyEventCount] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT hour, events FROM hook_event_counts WHERE connector = ? AND hour >= ? ORDER BY hour",
                arguments: [connector, HourlyEventCount.hour(of: since).millisecondsSinceEpoch]
            ).map { HourlyEventCount(hour: Timestamp(millisecondsSinceEpoch: $0["hour"]), events: $0["events"]) }
        }
    }

    public func pendingEvents(connector: String, limit: Int, dueAt: Timestamp?) async throws -> [PendingInboxEvent] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM inbox_events WHERE connector = ? AND applied_at IS NULL AND failed_at IS NULL
                    AND next_attempt_at <= ? ORDER BY published, seq LIMIT ?
                    """,
                arguments: [connector, dueAt?.millisecondsSinceEpoch ?? Int64.max, limit]
            ).map { row in
                PendingInboxEvent(
                    seq: row["seq"], connector: row["connector"], eventId: row["event_id"],
                    event: InboxEvent(
                        uuid: row["uuid"], eventType: row["event_type"], subjectUserId: row["subject_user_id"],
                        published: Timestamp(millisecondsSinceEpoch: row["published"]),
                        payloadJSON: row["payload_json"]),
                    receivedAt: Timestamp(millisecondsSinceEpoch: row["received_at"]), attempts: row["attempts"])
            }
        }
    }

    public func nextPendingEventDue(connector: String) async throws -> Timestamp? {
        try await pool.read { db in
            timestamp(
                try Int64.fetchOne(
                    db,
                    sql: """
                        SELECT MIN(next_attempt_at) FROM inbox_events
                        WHERE connector = ? AND applied_at IS NULL AND failed_at IS NULL
                        """, arguments: [connector]))
        }
    }

    public func oldestPendingEventPublished(connector: String) async throws -> Timestamp? {
        try await pool.read { db in
            timestamp(
                try Int64.fetchOne(
                    db,
                    sql: """
                        SELECT MIN(published) FROM inbox_events
                        WHERE connector = ? AND applied_at IS NULL AND failed_at IS NULL
                        """, arguments: [connector]))
        }
    }

    public func setBack(connector: String, _ setbacks: [InboxSetback], at: Timestamp) async throws {
        guard !setbacks.isEmpty else { return }
        try await pool.write { db in
            for setback in setbacks where !setback.seqs.isEmpty {
                let ids = Self.idList(setback.seqs)
                switch setback.disposition {
                case .retry(let due, let counts):
                    try db.execute(
                        sql: """
                            UPDATE inbox_events SET attempts = attempts + ?, next_attempt_at = ?, last_error = ?
                            WHERE connector = ? AND applied_at IS NULL AND seq IN (SELECT value FROM json_each(?))
                            """,
                        arguments: [counts ? 1 : 0, due.millisecondsSinceEpoch, setback.error, connector, ids])
                case .fail:
                    try db.execute(
                        sql: """
                            UPDATE inbox_events SET attempts = attempts + 1, last_error = ?, failed_at = ?
                            WHERE connector = ? AND applied_at IS NULL AND seq IN (SELECT value FROM json_each(?))
                            """,
                        arguments: [setback.error, at.millisecondsSinceEpoch, connector, ids])
                }
            }
        }
    }

    public func failedEvents(connector: String, limit: Int) async throws -> [FailedInboxEvent] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT seq, uuid, event_type, subject_user_id, published, attempts, last_error, failed_at
                    FROM inbox_events WHERE connector = ? AND failed_at IS NOT NULL AND applied_at IS NULL
                    ORDER BY failed_at DESC, seq DESC LIMIT ?
                    """, arguments: [connector, limit]
            ).map { row in
                FailedInboxEvent(
                    seq: row["seq"], uuid: row["uuid"], eventType: row["event_type"],
                    subjectUserId: row["subject_user_id"],
                    published: Timestamp(millisecondsSinceEpoch: row["published"]), attempts: row["attempts"],
                    lastError: row["last_error"] ?? "", failedAt: Timestamp(millisecondsSinceEpoch: row["failed_at"]))
            }
        }
    }

    public func failedEventCount(connector: String) async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(
                db,
                sql:
                    "SELECT COUNT(*) FROM inbox_events WHERE connector = ? AND failed_at IS NOT NULL AND applied_at IS NULL",
                arguments: [connector]) ?? 0
        }
    }

    public func retryFailedEvents(connector: String, seqs: [Int64]?, at: Timestamp) async throws -> Int {
        try await pool.write { db in
            let filter = seqs == nil ? "" : " AND seq IN (SELECT value FROM json_each(?))"
            var arguments: StatementArguments = [at.millisecondsSinceEpoch, connector]
            if let seqs { arguments += [Self.idList(seqs)] }
            try db.execute(
                sql: """
                    UPDATE inbox_events SET failed_at = NULL, attempts = 0, next_attempt_at = ?
                    WHERE connector = ? AND failed_at IS NOT NULL AND applied_at IS NULL
                    """ + filter, arguments: arguments)
            return db.changesCount
        }
    }

    /// A list of ids as one JSON array argument, expanded in SQL with `json_each`: one statement
    /// for any number of rows.
    static func idList(_ ids: [Int64]) -> String {
        "[" + ids.map(String.init).joined(separator: ",") + "]"
    }

    public func markApplied(connector: String, seqs: [Int64], at: Timestamp) async throws {
        guard !seqs.isEmpty else { return }
        try await pool.write { db in
            try Self.markApplied(db, connector: connector, seqs: seqs, at: at.millisecondsSinceEpoch)
        }
    }

    static func markApplied(_ db: Database, connector: String, seqs: [Int64], at now: Int64) throws {
        try db.execute(
            sql: """
                UPDATE inbox_events SET applied_at = ?, failed_at = NULL
                WHERE connector = ? AND applied_at IS NULL AND seq IN (SELECT value FROM json_each(?))
                """,
            arguments: [now, connector, idList(seqs)])
    }

    public func eventsReceivedPerMinute(connector: String, since: Timestamp) async throws -> [Int64: Int] {
        try await pool.read { db in
            var minutes: [Int64: Int] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT received_at / 60000 * 60000 AS minute, COUNT(*) AS events FROM inbox_events
                    WHERE connector = ? AND received_at >= ? GROUP BY minute
                    """, arguments: [connector, since.millisecondsSinceEpoch])
            {
                minutes[row["minute"]] = row["events"]
            }
            return minutes
        }
    }

    public func latestDeliveryReceived(connector: String) async throws -> Timestamp? {
        try await pool.read { db in
            timestamp(
                try Int64.fetchOne(
                    db, sql: "SELECT MAX(received_at) FROM inbox_deliveries WHERE connector = ?",
                    arguments: [connector]))
        }
    }

    public func inboxDepth(connector: String) async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(
                db,
                sql:
                    "SELECT COUNT(*) FROM inbox_events WHERE connector = ? AND applied_at IS NULL AND failed_at IS NULL",
                arguments: [connector]) ?? 0
        }
    }

    // MARK: - Outbox

    public func pendingOutbox(connector: String, limit: Int) async throws -> [OutboxEntry] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM outbox WHERE connector = ? ORDER BY seq LIMIT ?", arguments: [connector, limit]
            ).map(Self.outboxEntry)
        }
    }

    static func outboxEntry(_ row: Row) throws -> OutboxEntry {
        let opText: String = row["op"]
        guard let operation = OutboxOperation(rawValue: opText) else {
            throw StoreError.corruptRow(table: "outbox", key: "\(row["seq"] as Int64)", reason: "unknown op \(opText)")
        }
        return OutboxEntry(
            seq: row["seq"], connector: row["connector"], userId: row["user_id"], operation: operation,
            version: row["version"], recordJSON: row["record_json"],
            createdAt: Timestamp(millisecondsSinceEpoch: row["created_at"]), attempts: row["attempts"],
            nextAttemptAt: Timestamp(millisecondsSinceEpoch: row["next_attempt_at"]), lastError: row["last_error"])
    }

    public func markForwarded(connector: String, seqs: [Int64]) async throws {
        guard !seqs.isEmpty else { return }
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM outbox WHERE connector = ? AND seq IN (SELECT value FROM json_each(?))",
                arguments: [connector, Self.idList(seqs)])
        }
    }

    public func recordForwardFailure(
        connector: String, seqs: [Int64], error: String, nextAttemptAt: Timestamp
    ) async throws {
        guard !seqs.isEmpty else { return }
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?
                    WHERE connector = ? AND seq IN (SELECT value FROM json_each(?))
                    """,
                arguments: [error, nextAttemptAt.millisecondsSinceEpoch, connector, Self.idList(seqs)])
        }
    }

    public func moveToDeadLetters(connector: String, seqs: [Int64], reason: String, at: Timestamp) async throws {
        guard !seqs.isEmpty else { return }
        let ids = Self.idList(seqs)
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO dead_letters (connector, user_id, op, version, record_json, reason, attempts, created_at,
                        failed_at)
                    SELECT connector, user_id, op, version, record_json, ?, attempts + 1, created_at, ?
                    FROM outbox WHERE connector = ? AND seq IN (SELECT value FROM json_each(?)) ORDER BY seq
                    """, arguments: [reason, at.millisecondsSinceEpoch, connector, ids])
            try db.execute(
                sql: "DELETE FROM outbox WHERE connector = ? AND seq IN (SELECT value FROM json_each(?))",
                arguments: [connector, ids])
        }
    }

    public func requeuePresentUsers(connector: String, at: Timestamp) async throws -> Int {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO outbox (connector, user_id, op, version, record_json, created_at, attempts, next_attempt_at)
                    SELECT connector, user_id, 'upsert', version, record_json, ?, 0, ? FROM users
                    WHERE connector = ? AND removed_at IS NULL AND record_json IS NOT NULL ORDER BY user_id
                    """, arguments: [at.millisecondsSinceEpoch, at.millisecondsSinceEpoch, connector])
            return db.changesCount
        }
    }

    public func outboxStats(connector: String) async throws -> OutboxStats {
        try await pool.read { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT COUNT(*) AS depth, MIN(created_at) AS oldest FROM outbox WHERE connector = ?",
                arguments: [connector])
            return OutboxStats(
                depth: row?["depth"] ?? 0, oldestCreatedAt: timestamp(row?["oldest"]))
        }
    }

    // MARK: - Dead letters

    public func deadLetters(connector: String, limit: Int) async throws -> [DeadLetter] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM dead_letters WHERE connector = ? ORDER BY id LIMIT ?",
                arguments: [connector, limit]
            ).map { row in
                DeadLetter(
                    id: row["id"], connector: row["connector"], userId: row["user_id"],
                    operation: OutboxOperation(rawValue: row["op"]) ?? .upsert, version: row["version"],
                    recordJSON: row["record_json"], reason: row["reason"], attempts: row["attempts"],
                    createdAt: Timestamp(millisecondsSinceEpoch: row["created_at"]),
                    failedAt: Timestamp(millisecondsSinceEpoch: row["failed_at"]))
            }
        }
    }

    public func deadLetterCount(connector: String) async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM dead_letters WHERE connector = ?", arguments: [connector])
                ?? 0
        }
    }

    public func replayDeadLetters(connector: String, ids: [Int64]?, at: Timestamp) async throws -> Int {
        try await pool.write { db in
            let selected: [Int64]
            if let ids {
                selected = ids
            } else {
                selected = try Int64.fetchAll(
                    db, sql: "SELECT id FROM dead_letters WHERE connector = ? ORDER BY id", arguments: [connector])
            }
            let ids = Self.idList(selected)
            try db.execute(
                sql: """
                    INSERT INTO outbox (connector, user_id, op, version, record_json, created_at, attempts, next_attempt_at)
                    SELECT connector, user_id, op, version, record_json, ?, 0, ? FROM dead_letters
                    WHERE connector = ? AND id IN (SELECT value FROM json_each(?)) ORDER BY id
                    """, arguments: [at.millisecondsSinceEpoch, at.millisecondsSinceEpoch, connector, ids])
            let count = db.changesCount
            try db.execute(
                sql: "DELETE FROM dead_letters WHERE connector = ? AND id IN (SELECT value FROM json_each(?))",
                arguments: [connector, ids])
            return count
        }
    }

    // MARK: - Runs

    public func startRun(connector: String, trigger: RunTrigger, dryRun: Bool, at: Timestamp) async throws -> Int64 {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO runs (connector, run_trigger, dry_run, started_at, outcome, owner)
                    VALUES (?, ?, ?, ?, 'running', ?)
                    """,
                arguments: [
                    connector, trigger.rawValue, dryRun, at.millisecondsSinceEpoch, Self.processIdentity.description,
                ])
            return db.lastInsertedRowID
        }
    }

    public func finishRun(_ record: RunRecord) async throws {
        let calls = try JSONCoding.string(record.oktaCalls)
        let errors = try JSONCoding.string(record.errors)
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE runs SET ended_at = ?, outcome = ?, listed = ?, created = ?, updated = ?, unchanged = ?,
                    removed = ?, drift = ?, okta_calls_json = ?, rate_limited = ?, errors_json = ?,
                    last_logon_updates = ? WHERE id = ?
                    """,
                arguments: [
                    record.endedAt?.millisecondsSinceEpoch, record.outcome.rawValue, record.counts.listed,
                    record.counts.created, record.counts.updated, record.counts.unchanged, record.counts.removed,
                    record.drift, calls, record.rateLimited, errors, record.lastLogonUpdates, record.id,
                ])
        }
    }

    public func updateRunProgress(_ record: RunRecord) async throws {
        let calls = try JSONCoding.string(record.oktaCalls)
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE runs SET listed = ?, created = ?, updated = ?, unchanged = ?, removed = ?,
                    okta_calls_json = ?, rate_limited = ? WHERE id = ? AND outcome = 'running'
                    """,
                arguments: [
                    record.counts.listed, record.counts.created, record.counts.updated, record.counts.unchanged,
                    record.counts.removed, calls, record.rateLimited, record.id,
                ])
        }
    }

    public func runs(connector: String, limit: Int) async throws -> [RunRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM runs WHERE connector = ? ORDER BY id DESC LIMIT ?",
                arguments: [connector, limit]
            ).map(Self.runRecord)
        }
    }

    public func recordRunForwarding(id: Int64, forwarded: Bool) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE runs SET forwarded = ? WHERE id = ?", arguments: [forwarded, id])
        }
    }

    public func run(id: Int64) async throws -> RunRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [id]).map(Self.runRecord)
        }
    }

    static func runRecord(_ row: Row) throws -> RunRecord {
        let id: Int64 = row["id"]
        do {
            return RunRecord(
                id: id, connector: row["connector"],
                trigger: RunTrigger(rawValue: row["run_trigger"]) ?? .manual, dryRun: row["dry_run"],
                startedAt: Timestamp(millisecondsSinceEpoch: row["started_at"]),
                endedAt: timestamp(row["ended_at"]),
                outcome: RunOutcome(rawValue: row["outcome"]) ?? .failed,
                counts: RunCounts(
                    listed: row["listed"], created: row["created"], updated: row["updated"],
                    unchanged: row["unchanged"], removed: row["removed"]),
                drift: row["drift"],
                oktaCalls: try JSONCoding.decode([String: Int].self, from: row["okta_calls_json"]),
                rateLimited: row["rate_limited"],
                errors: try JSONCoding.decode([String].self, from: row["errors_json"]), owner: row["owner"],
                forwarded: row["forwarded"], lastLogonUpdates: row["last_logon_updates"])
        } catch {
            throw StoreError.corruptRow(table: "runs", key: "\(id)", reason: "\(error)")
        }
    }

    public func interruptAbandonedRuns(at: Timestamp) async throws -> [Int64] {
        let me = Self.processIdentity
        return try await pool.write { db in
            let running = try Row.fetchAll(
                db,
                sql: """
                    SELECT runs.id, runs.owner, run_leases.holder, run_leases.expires_at FROM runs
                    LEFT JOIN run_leases ON run_leases.connector = runs.connector WHERE runs.outcome = 'running'
                    """)
            let abandoned: [Int64] = running.compactMap { row in
                let owner: String? = row["owner"]
                let lease = (holder: row["holder"] as String?, expiresAt: row["expires_at"] as Int64?)
                return RunRecovery.isAbandoned(
                    owner: owner, leaseHolder: lease.holder, leaseExpiresAt: lease.expiresAt, me: me,
                    at: at.millisecondsSinceEpoch) ? row["id"] : nil
            }
            guard !abandoned.isEmpty else { return [] }
            let ids = Self.idList(abandoned)
            try db.execute(
                sql: """
                    UPDATE runs SET outcome = 'interrupted', ended_at = COALESCE(ended_at, ?),
                    errors_json = '["interrupted: the process running it stopped before it finished"]'
                    WHERE id IN (SELECT value FROM json_each(?))
                    """, arguments: [at.millisecondsSinceEpoch, ids])
            try db.execute(
                sql: "DELETE FROM enrichment_staging WHERE run_id IN (SELECT value FROM json_each(?))", arguments: [ids]
            )
            return abandoned
        }
    }

    // MARK: - Run leases

    public func acquireRunLease(
        connector: String, holder: ProcessIdentity, at: Timestamp, expiresAt: Timestamp
    ) async throws -> RunLeaseAcquisition {
        try await pool.write { db in
            let current = try Row.fetchOne(
                db, sql: "SELECT * FROM run_leases WHERE connector = ?", arguments: [connector]
            ).map(Self.runLease)
            let decision = RunLeaseDecision.claim(current: current, by: holder, at: at)
            guard decision == .acquired else { return decision }
            try db.execute(
                sql: """
                    INSERT INTO run_leases (connector, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (connector) DO UPDATE SET holder = excluded.holder,
                    acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
                    """,
                arguments: [
                    connector, holder.description, at.millisecondsSinceEpoch, expiresAt.millisecondsSinceEpoch,
                ])
            return .acquired
        }
    }

    public func renewRunLease(connector: String, holder: ProcessIdentity, expiresAt: Timestamp) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE run_leases SET expires_at = ? WHERE connector = ? AND holder = ?",
                arguments: [expiresAt.millisecondsSinceEpoch, connector, holder.description])
            return db.changesCount > 0
        }
    }

    public func releaseRunLease(connector: String, holder: ProcessIdentity) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM run_leases WHERE connector = ? AND holder = ?",
                arguments: [connector, holder.description])
        }
    }

    public func runLease(connector: String) async throws -> RunLease? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM run_leases WHERE connector = ?", arguments: [connector]).map(
                Self.runLease)
        }
    }

    static func runLease(_ row: Row) -> RunLease {
        RunLease(
            connector: row["connector"], holder: row["holder"],
            acquiredAt: Timestamp(millisecondsSinceEpoch: row["acquired_at"]),
            expiresAt: Timestamp(millisecondsSinceEpoch: row["expires_at"]))
    }

    // MARK: - Worker leases

    public func claimWorkerLease(connector: String, holder: String, at: Timestamp, expiresAt: Timestamp)
        async throws -> WorkerLease
    {
        try await pool.write { db in
            let current = try Row.fetchOne(
                db, sql: "SELECT * FROM worker_leases WHERE connector = ?", arguments: [connector]
            ).map(Self.workerLease)
            let decision = WorkerLeaseDecision.claim(
                current: current, connector: connector, by: holder, at: at, expiresAt: expiresAt)
            guard case .granted(let lease) = decision else { return decision.lease }
            try db.execute(
                sql: """
                    INSERT INTO worker_leases (connector, holder, epoch, expires_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (connector) DO UPDATE SET holder = excluded.holder, epoch = excluded.epoch,
                    expires_at = excluded.expires_at
                    """, arguments: [connector, holder, lease.epoch, expiresAt.millisecondsSinceEpoch])
            return lease
        }
    }

    public func releaseWorkerLease(connector: String, holder: String) async throws {
        try await pool.write { db in
            // Expired now, epoch kept: the next holder's epoch is still greater.
            try db.execute(
                sql: "UPDATE worker_leases SET expires_at = 0 WHERE connector = ? AND holder = ?",
                arguments: [connector, holder])
        }
    }

    public func workerLease(connector: String) async throws -> WorkerLease? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM worker_leases WHERE connector = ?", arguments: [connector]).map(
                Self.workerLease)
        }
    }

    /// Refuses a write whose worker lease (its fence) is not the store's lease any more; inside the
    /// write transaction, so no takeover can come between the check and the write.
    /// - Throws: ``StoreError/fenced(connector:epoch:)``.
    static func check(_ fence: WorkerFence?, connector: String, at: Timestamp, in db: Database) throws {
        guard let fence else { return }
        let lease = try Row.fetchOne(db, sql: "SELECT * FROM worker_leases WHERE connector = ?", arguments: [connector])
            .map(Self.workerLease)
        guard fence.admits(lease, at: at) else { throw StoreError.fenced(connector: connector, epoch: fence.epoch) }
    }

    static func workerLease(_ row: Row) -> WorkerLease {
        WorkerLease(
            connector: row["connector"], holder: row["holder"], epoch: row["epoch"],
            expiresAt: Timestamp(millisecondsSinceEpoch: row["expires_at"]))
    }

    // MARK: - Retention

    public func prune(_ horizons: RetentionHorizons, now: Timestamp) async throws -> PruneCounts {
        let at = now.millisecondsSinceEpoch
        var counts = try await pool.write { db in
            var counts = PruneCounts()
            try db.execute(
                sql: "DELETE FROM inbox_events WHERE applied_at IS NOT NULL AND received_at < ?",
                arguments: [at - horizons.dedupeWindow])
            counts.appliedEvents = db.changesCount
            try db.execute(
                sql: "DELETE FROM inbox_deliveries WHERE received_at < ?", arguments: [at - horizons.dedupeWindow])
            counts.deliveries = db.changesCount
            try db.execute(
                sql: "DELETE FROM inbox_events WHERE failed_at IS NOT NULL AND applied_at IS NULL AND failed_at < ?",
                arguments: [at - horizons.failedEvents])
            counts.failedEvents = db.changesCount
            try db.execute(
                sql: "DELETE FROM dead_letters WHERE failed_at < ?", arguments: [at - horizons.deadLetters])
            counts.deadLetters = db.changesCount
            try db.execute(
                sql: """
                    DELETE FROM runs WHERE outcome <> 'running' AND COALESCE(ended_at, started_at) < ?
                    AND id NOT IN (
                        SELECT id FROM (
                            SELECT id, ROW_NUMBER() OVER (PARTITION BY connector ORDER BY id DESC) AS position FROM runs
                        ) WHERE position <= ?)
                    """, arguments: [at - horizons.runs, horizons.keepRuns])
            counts.runs = db.changesCount
            try db.execute(
                sql: "DELETE FROM hook_event_counts WHERE hour < ?", arguments: [at - HookEventTally.kept])
            return counts
        }
        if counts.total > 0 {
            counts.reclaimedPages = try await pool.writeWithoutTransaction { db in
                let free = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
                try db.execute(sql: "PRAGMA incremental_vacuum")
                return free - (try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0)
            }
        }
        return counts
    }

    // MARK: - Schedule

    public func scheduleState(connector: String) async throws -> ScheduleState? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM schedule_state WHERE connector = ?", arguments: [connector]).map {
                row in
                ScheduleState(
                    connector: row["connector"],
                    lastDueAt: timestamp(row["last_due_at"]),
                    lastStartedAt: timestamp(row["last_started_at"]),
                    lastSucceededAt: timestamp(row["last_succeeded_at"]),
                    nextDueAt: timestamp(row["next_due_at"]))
            }
        }
    }

    public func saveScheduleState(_ state: ScheduleState) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO schedule_state (connector, last_due_at, last_started_at, last_succeeded_at, next_due_at)
                    VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (connector) DO UPDATE SET last_due_at = excluded.last_due_at,
                    last_started_at = excluded.last_started_at, last_succeeded_at = excluded.last_succeeded_at,
                    next_due_at = excluded.next_due_at
                    """,
                arguments: [
                    state.connector, state.lastDueAt?.millisecondsSinceEpoch,
                    state.lastStartedAt?.millisecondsSinceEpoch,
                    state.lastSucceededAt?.millisecondsSinceEpoch, state.nextDueAt?.millisecondsSinceEpoch,
                ])
        }
    }
}

/// A nullable integer column as a timestamp.
private func timestamp(_ milliseconds: Int64?) -> Timestamp? {
    milliseconds.map { Timestamp(millisecondsSinceEpoch: $0) }
}

extension SQLiteStateStore {
    /// Rewrites a run's owner (tests of crash recovery: a run of a process that died).
    public func setRunOwnerForTesting(runId: Int64, owner: ProcessIdentity) throws {
        try pool.write { db in
            try db.execute(
                sql: "UPDATE runs SET owner = ? WHERE id = ?", arguments: [owner.description, runId])
        }
    }
}
