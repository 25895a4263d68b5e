public import ConnectorDomain
public import ConnectorStore
import Foundation
public import Logging
import NIOSSL
public import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The store for several replicas: one PostgreSQL database (SPEC §10), through PostgresNIO's
/// connection pool. The same contract and behaviour as the SQLite store; writes that touch many
/// rows are set-based (`= ANY($1)`, `unnest`), so no call makes a round trip per row.
///
/// The store is a `Service`: ``run()`` runs its pool and the pool's watchdog as child tasks until
/// graceful shutdown, cancellation or ``close()``; queries wait until it runs.
public final class PostgreSQLStateStore: StateStore {
    /// The connection pool in use; replaced when it stops answering.
    struct Pool {
        var client: PostgresClient
        /// Ends the pool's run (finished when the pool is replaced).
        var retire: AsyncStream<Void>.Continuation
        var replacements = 0
        /// Set by `close()`: no pool is put in place after it.
        var closed = false
    }

    /// A pool for ``run()`` to run until it is retired.
    struct PoolRun: Sendable {
        let client: PostgresClient
        let retired: AsyncStream<Void>
    }

    let pool: Mutex<Pool>
    let logger: Logger
    /// The pools ``run()`` runs: the first, then each replacement.
    let poolRuns: AsyncStream<PoolRun>
    let startPool: AsyncStream<PoolRun>.Continuation
    /// Opened once a pool runs: queries wait for it (a pool leased before it runs only warns and waits).
    let running = Latch()
    /// Opened once ``run()`` ended.
    let stopped = Latch()
    let runStarted = Mutex(false)
    /// Where the database is (without the password).
    public let location: PostgreSQLLocation
    /// The `application_name` of this store's connections, unique per store: the watchdog tells its
    /// pool's connections by it, and an operator sees them by it in `pg_stat_activity`.
    public let applicationName = "okta-connector/" + String(UInt32.random(in: .min ... .max), radix: 16)

    /// The pool every query goes through.
    var client: PostgresClient {
        get async {
            await running.wait()
            return pool.withLock { $0.client }
        }
    }

    /// How many times the pool was replaced because it stopped answering.
    public var poolReplacements: Int { pool.withLock { $0.replacements } }

    /// Connects, applies pending migrations under the migration lock, and makes the pool, which
    /// ``run()`` runs.
    /// - Throws: ``StoreError`` naming the host and the problem (refused, bad credentials, missing
    ///   database, TLS), never the password; ``StoreError/schemaFromNewerVersion(unknownMigrations:)``
    ///   when the database was migrated by a newer binary (left untouched).
    public init(location: PostgreSQLLocation, logger: Logger) async throws {
        self.location = location
        self.logger = logger
        // One plain connection first, which applies the migrations: the pool retries a failing
        // connect for a long while and then reports only that its breaker tripped; a single attempt
        // says at once what is wrong (refused, bad credentials, no such database, TLS) and stops.
        try await Self.probe(location, logger: logger) { connection in
            try await Self.migrate(on: connection, logger: logger)
        }
        let client = PostgresClient(
            configuration: try Self.configuration(for: location, applicationName: applicationName),
            backgroundLogger: logger)
        (poolRuns, startPool) = AsyncStream.makeStream(of: PoolRun.self)
        let (retired, retire) = AsyncStream.makeStream(of: Void.self)
        pool = Mutex(Pool(client: client, retire: retire))
        startPool.yield(PoolRun(client: client, retired: retired))
    }

    /// Runs the pool (and each pool that replaces it) and its watchdog, until graceful shutdown,
    /// cancellation or ``close()``; then the pool's connections are closed. Run it once.
    public func run() async {
        runStarted.withLock { $0 = true }
        defer { stopped.open() }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.watch() }
            group.addTask {
                // At graceful shutdown (or cancellation) no new pool starts, and the loop below ends.
                try? await gracefulShutdown()
                self.stopPools()
            }
            for await poolRun in poolRuns {
                group.addTask {
                    await withTaskGroup(of: Void.self) { inner in
                        inner.addTask {
                            self.running.open()
                            await poolRun.client.run()
                        }
                        inner.addTask { for await _ in poolRun.retired {} }
                        // Whichever ends first, retirement or the pool, ends the other.
                        await inner.next()
                        inner.cancelAll()
                    }
                }
            }
            group.cancelAll()
        }
    }

    /// Ends ``run()`` (when it runs) and waits for the pool's connections to close; nothing starts
    /// after it.
    public func close() async {
        stopPools()
        if runStarted.withLock({ $0 }) { await stopped.wait() }
    }

    /// No pool is put in place any more, and the running one is retired.
    func stopPools() {
        let retire = pool.withLock { pool in
            pool.closed = true
            return pool.retire
        }
        retire.finish()
        startPool.finish()
        // A query still waiting to start goes on to fail on the closed pool instead of waiting.
        running.open()
    }

    /// Looks at the pool every ``watchInterval`` until cancelled (see ``look(afterFailures:deadline:failuresBeforeReplacing:)``).
    func watch() async {
        var failures = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.watchInterval)
            guard !Task.isCancelled else { return }
            failures = await look(afterFailures: failures)
        }
    }

    /// How often the watchdog looks at the pool.
    static let watchInterval = Duration.seconds(5)

    /// One look of the pool's watchdog: a query through the pool must answer within `deadline`.
    /// After `failuresBeforeReplacing` failed looks in a row, while a connection of its own reaches
    /// the database and none of the pool's connections is working there, the pool is replaced by a
    /// new one and the old one shut down, which fails the requests waiting in it (their callers
    /// retry on the new pool). PostgresNIO's pool has been seen to keep requests waiting for good
    /// after the server restarted, its connections idle, and after a long outage it waits up to a
    /// minute between connection attempts: within about 15 s of the database being reachable again
    /// the store works again, and it never stays silent and stuck. A pool that is only saturated
    /// (its connections running queries) is left alone, and said so once, since replacing it would
    /// fail work in progress.
    /// - Returns: The failed looks in a row so far.
    func look(afterFailures failures: Int, deadline: Duration = .seconds(5), failuresBeforeReplacing: Int = 2) async
        -> Int
    {
        if await Self.answers(client, within: deadline, logger: logger) { return 0 }
        guard failures + 1 >= failuresBeforeReplacing else { return failures + 1 }
        let working: Int
        do {
            // Bounded: a server that vanished without a reset would hold the query until TCP gives up.
            let (location, applicationName, logger) = (location, applicationName, logger)
            working = try await withStoreDeadline(5, clock: SystemWallClock()) {
                try await Self.workingConnections(location, applicationName: applicationName, logger: logger)
            }
        } catch is StoreCallTimeout {
            // A database too slow to show its activity: a pool that may only be busy is left alone.
            return failures + 1
        } catch {
            // The database itself away: the pool reconnects by itself once it is back. Bounded, and
            // not at all once closing: `close()` waits for the watchdog.
            guard !Task.isCancelled else { return failures + 1 }
            let location = location
            let logger = logger
            let reachable =
                (try? await withStoreDeadline(10, clock: SystemWallClock()) {
                    try await Self.probe(location, logger: logger)
                }) != nil
            guard reachable, !Task.isCancelled else { return failures + 1 }
            // Reachable, but its activity cannot be read (a role without access to it): judged as
            // before that check existed, by the pool's answer alone.
            logger.warning(
                "cannot read the database's activity to tell a busy pool from a stuck one",
                metadata: ["error": "\(error)", "database": "\(location.description)"])
            working = 0
        }
        guard !Task.isCancelled else { return failures + 1 }
        if working > 0 {
            if failures + 1 == failuresBeforeReplacing {
                logger.warning(
                    "the database connection pool is saturated: every connection is busy and requests wait",
                    metadata: ["working": "\(working)", "database": "\(location.description)"])
            }
            return failures + 1
        }
        let replaced = replacePool(
            reason:
                "it did not answer \(failuresBeforeReplacing) looks in a row while the database did, and none of its connections was working"
        )
        return replaced ? 0 : failures + 1
    }

    /// How many of a pool's connections are working in the database now: running a statement, or
    /// in a transaction that moved within the last 5 s. Read on a connection of its own.
    static func workingConnections(
        _ location: PostgreSQLLocation, applicationName: String, logger: Logger
    ) async throws -> Int {
        try await probe(location, logger: logger) { (connection: PostgresConnection) async throws -> Int in
            let query: PostgresQuery = """
                SELECT count(*) FROM pg_stat_activity
                WHERE application_name = \(applicationName) AND pid <> pg_backend_pid()
                  AND ((state = 'active' AND wait_event_type IS DISTINCT FROM 'Client')
                       OR (state LIKE 'idle in transaction%' AND state_change > now() - interval '5 seconds'))
                """
            let rows: PostgresRowSequence = try await connection.query(query, logger: logger)
            var count: Int64 = 0
            for try await value in rows.decode(Int64.self) { count = value }
            return Int(count)
        }
    }

    /// Whether a query through a pool answers within a deadline. The query is not waited for past
    /// it: one already sent on a connection whose server vanished without a reset cannot be
    /// cancelled, and would hold the watchdog until TCP gives up.
    static func answers(_ client: PostgresClient, within deadline: Duration, logger: Logger) async -> Bool {
        let seconds = Double(deadline.components.seconds) + Double(deadline.components.attoseconds) / 1e18
        do {
            _ = try await withStoreDeadline(seconds, clock: SystemWallClock()) {
                try await client.query("SELECT 1", logger: logger).collect().count
            }
            return true
        } catch {
            return false
        }
    }

    /// Puts a new pool in place and shuts the old one down (its waiting requests fail).
    /// - Returns: Whether a new pool is in place (not after `close()`, nor when the configuration
    ///   cannot be built, which is logged).
    @discardableResult
    func replacePool(reason: String) -> Bool {
        let configuration: PostgresClient.Configuration
        do {
            configuration = try Self.configuration(for: location, applicationName: applicationName)
        } catch {
            logger.error(
                "the database connection pool does not answer and cannot be replaced",
                metadata: ["reason": "\(reason)", "error": "\(error)"])
            return false
        }
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let (retired, retire) = AsyncStream.makeStream(of: Void.self)
        let old = pool.withLock { pool -> AsyncStream<Void>.Continuation? in
            guard !pool.closed else { return nil }
            let old = pool.retire
            pool.client = client
            pool.retire = retire
            pool.replacements += 1
            return old
        }
        guard let old else { return false }
        startPool.yield(PoolRun(client: client, retired: retired))
        old.finish()
        logger.warning(
            "the database connection pool was replaced; requests waiting in it fail and are tried again",
            metadata: ["reason": "\(reason)", "database": "\(location.description)"])
        return true
    }

    /// The client configuration for a location (TLS per `sslmode`, TLS 1.2 at least).
    static func configuration(
        for location: PostgreSQLLocation, applicationName: String = "okta-connector"
    ) throws -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS = try tlsConfiguration(for: location).map { .require($0) } ?? .disable
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: tls)
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.maximumConnections = 16
        // Kept open (and kept alive) even when idle: a delivery after a quiet hour must be committed
        // within the receiver's 2 s deadline, not wait for a new connection's start-up and login.
        configuration.options.minimumConnections = 2
        configuration.options.additionalStartupParameters = [("application_name", applicationName)]
        return configuration
    }

    /// TLS per `sslmode` (TLS 1.2 at least), `nil` for `disable`.
    static func tlsConfiguration(for location: PostgreSQLLocation) throws -> TLSConfiguration? {
        switch location.sslMode {
        case .disable: return nil
        case .require:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            configuration.minimumTLSVersion = .tlsv12
            return configuration
        case .verifyFull:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            if let caFile = location.caFile {
                do {
                    configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
                } catch {
                    throw StoreError.cannotOpen(
                        location: location.description, reason: "cannot read the CA file \(caFile): \(error)")
                }
            }
            return configuration
        }
    }

    /// Connects once and disconnects, to report a connection problem clearly.
    static func probe(_ location: PostgreSQLLocation, logger: Logger) async throws {
        try await probe(location, logger: logger) { _ in }
    }

    /// Checks that the store can be reached as configured — address, TLS as `sslmode` asks, the
    /// user's password, the database — without changing anything (`check-config --online`).
    /// - Parameters:
    ///   - location: Where the database is.
    ///   - logger: The logger.
    /// - Throws: ``StoreError/cannotOpen(location:reason:)`` saying what to do.
    public static func check(_ location: PostgreSQLLocation, logger: Logger) async throws {
        try await probe(location, logger: logger) { connection in
            do {
                try await connection.query("SELECT 1", logger: logger)
            } catch {
                throw describe(error, location: location)
            }
        }
    }

    /// Connects once, runs `body` on the connection, and disconnects.
    static func probe<Result>(
        _ location: PostgreSQLLocation, logger: Logger, _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let tls: PostgresConnection.Configuration.TLS
        if let settings = try tlsConfiguration(for: location) {
            do {
                tls = .require(try NIOSSLContext(configuration: settings))
            } catch {
                throw StoreError.cannotOpen(location: location.description, reason: "TLS settings: \(error)")
            }
        } else {
            tls = .disable
        }
        var connection = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: tls)
        connection.options.connectTimeout = .seconds(10)
        if location.sslMode == .verifyFull { connection.options.tlsServerName = location.host }
        do {
            let opened = try await PostgresConnection.connect(
                on: PostgresClient.defaultEventLoopGroup.next(), configuration: connection, id: 0, logger: logger
            ).get()
            do {
                let result = try await body(opened)
                try? await opened.close()
                return result
            } catch {
                try? await opened.close()
                throw error
            }
        } catch {
            throw describe(error, location: location)
        }
    }

    /// Runs administrative statements (`CREATE DATABASE`, for tests and the demo) on one connection
    /// to a location, then closes it.
    public static func administer<Result: Sendable>(
        _ location: PostgreSQLLocation, logger: Logger,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let client = PostgresClient(configuration: try configuration(for: location), backgroundLogger: logger)
        do {
            return try await withThrowingTaskGroup(of: Result?.self) { group in
                group.addTask {
                    await client.run()
                    return nil
                }
                let result = try await client.withConnection { connection in try await body(connection) }
                group.cancelAll()
                return result
            }
        } catch {
            throw describe(error, location: location)
        }
    }

    /// An operator's message for a connection or query failure: which host, what went wrong.
    static func describe(_ error: any Error, location: PostgreSQLLocation) -> any Error {
        if error is StoreError { return error }
        let text = String(reflecting: error)
        let reason: String
        if let psql = error as? PSQLError, let server = psql.serverInfo, let message = server[.message] {
            let code = server[.sqlState] ?? ""
            switch code {
            case "28P01", "28000": reason = "authentication failed for user \(location.user) (\(message))"
            case "3D000": reason = "the database \(location.database) does not exist (\(message))"
            default: reason = "\(message) (SQLSTATE \(code))"
            }
        } else if text.contains("connectionRefused") || text.contains("Connection refused") {
            reason = "connection refused: is PostgreSQL listening on \(location.host):\(location.port)?"
        } else if text.contains("sslUnsupported") {
            reason =
                "the server does not offer TLS, and sslmode=\(location.sslMode.rawValue)"
                + (location.sslMode == .verifyFull ? " (the default)" : "")
                + " requires it: turn TLS on in PostgreSQL (ssl = on, with a certificate), or, only on a network "
                + "you trust (the same host, a private link), add ?sslmode=disable to store.url"
        } else if text.contains("SSL") || text.contains("TLS") || text.contains("handshake") {
            reason = "TLS failed (sslmode=\(location.sslMode.rawValue)): \(text.prefix(200))"
        } else {
            reason = String(text.prefix(300))
        }
        return StoreError.cannotOpen(location: location.description, reason: reason)
    }

    /// Applies the pending migrations on one connection, under the migration lock.
    /// - Throws: ``StoreError/schemaFromNewerVersion(unknownMigrations:)`` when a newer binary
    ///   migrated the database (left untouched).
    static func migrate(on connection: PostgresConnection, logger: Logger) async throws {
        do {
            try await connection.withTransaction(logger: logger) { connection in
                try await applyMigrations(on: connection, logger: logger)
            }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.beginError ?? error.commitError ?? error
        }
    }

    static func applyMigrations(on connection: PostgresConnection, logger: Logger) async throws {
        // Replicas starting together: one migrates, the others wait here and find it done.
        try await connection.query("SELECT pg_advisory_xact_lock(\(PostgreSQLSchema.migrationLock))", logger: logger)
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS okta_connector_migrations (
                identifier TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)
            """, logger: logger)
        var applied: Set<String> = []
        for try await identifier in try await connection.query(
            "SELECT identifier FROM okta_connector_migrations", logger: logger
        ).decode(String.self) {
            applied.insert(identifier)
        }
        let known = Set(PostgreSQLSchema.migrations.map(\.identifier))
        let unknown = applied.subtracting(known).sorted()
        guard unknown.isEmpty else { throw StoreError.schemaFromNewerVersion(unknownMigrations: unknown) }
        let now = Timestamp(Date()).millisecondsSinceEpoch
        for migration in PostgreSQLSchema.migrations where !applied.contains(migration.identifier) {
            for statement in migration.sql {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            try await connection.query(
                "INSERT INTO okta_connector_migrations (identifier, applied_at) VALUES (\(migration.identifier), \(now))",
                logger: logger)
        }
    }

    /// The migrations applied, in order.
    public func appliedMigrations() async throws -> [String] {
        var result: [String] = []
        for try await identifier in try await client.query(
            "SELECT identifier FROM okta_connector_migrations ORDER BY identifier", logger: logger
        ).decode(String.self) {
            result.append(identifier)
        }
        return result
    }

    /// Whether the database answers with the schema this binary knows, within two seconds: while
    /// the server is away the pool keeps a query waiting for a connection, and a readiness probe
    /// must answer before its own timeout.
    /// A call the pool lost is left behind rather than waited for (see `withStoreDeadline`).
    public func isReady() async -> Bool {
        let applied = try? await withStoreDeadline(2, clock: SystemWallClock()) { try await self.appliedMigrations() }
        return applied.map { Set($0) == Set(PostgreSQLSchema.migrations.map(\.identifier)) } ?? false
    }

    // MARK: - Helpers

    /// One transaction on a pooled connection; the store's own errors come out as they were thrown
    /// (PostgresNIO wraps them in `PostgresTransactionError`).
    func transaction<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            if let inner = error.closureError as? StoreError { throw inner }
            throw error
        }
    }

    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        try await client.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
    }

    func count(_ query: PostgresQuery) async throws -> Int {
        for try await value in try await client.query(query, logger: logger).decode(Int64.self) {
            return Int(value)
        }
        return 0
    }

    func optionalTimestamp(_ query: PostgresQuery) async throws -> Timestamp? {
        for try await value in try await client.query(query, logger: logger).decode(Int64?.self) {
            return value.map { Timestamp(millisecondsSinceEpoch: $0) }
        }
        return nil
    }

    // MARK: - Users

    // The batch write (`commit`) is in PostgreSQLStateStore+UserWrites.swift.

    static func storedUser(_ row: PostgresRandomAccessRow) throws -> StoredUser {
        let connector = try row["connector"].decode(String.self)
        let userId = try row["user_id"].decode(String.self)
        let snapshot: UserSnapshot
        do {
            snapshot = try JSONCoding.decode(UserSnapshot.self, from: try row["snapshot_json"].decode(String.self))
        } catch {
            throw StoreError.corruptRow(table: "users", key: "\(connector)/\(userId)", reason: "\(error)")
        }
        return StoredUser(
            connector: connector, userId: userId, status: try row["status"].decode(String.self), snapshot: snapshot,
            recordJSON: try row["record_json"].decode(String?.self),
            recordHash: try row["record_hash"].decode(String?.self), version: try row["version"].decode(Int64.self),
            lastSeenRun: try row["last_seen_run"].decode(Int64?.self),
            removedAt: try row["removed_at"].decode(Int64?.self).map { Timestamp(millisecondsSinceEpoch: $0) },
            updatedAt: Timestamp(millisecondsSinceEpoch: try row["updated_at"].decode(Int64.self)))
    }

    /// The columns of a stored user.
    static let userColumns = """
        connector, user_id, status, snapshot_json, record_json, record_hash, version, last_seen_run, removed_at, updated_at
        """

    public func user(connector: String, id: String) async throws -> StoredUser? {
        try await rows(
            "SELECT \(unescaped: Self.userColumns) FROM users WHERE connector = \(connector) AND user_id = \(id)"
        ).first.map(Self.storedUser)
    }

    public func presentUsers(connector: String, after userId: String?, limit: Int) async throws -> [StoredUser] {
        try await rows(
            """
            SELECT \(unescaped: Self.userColumns) FROM users WHERE connector = \(connector) AND removed_at IS NULL
            AND user_id > \(userId ?? "") ORDER BY user_id LIMIT \(limit)
            """
        ).map(Self.storedUser)
    }

    public func presentUserCount(connector: String) async throws -> Int {
        try await count("SELECT COUNT(*) FROM users WHERE connector = \(connector) AND removed_at IS NULL")
    }

    public func recordHashes(connector: String, userIds: [String]) async throws -> [String: String] {
        guard !userIds.isEmpty else { return [:] }
        var hashes: [String: String] = [:]
        for try await (id, hash) in try await client.query(
            """
            SELECT user_id, record_hash FROM users WHERE connector = \(connector) AND removed_at IS NULL
            AND user_id = ANY(\(userIds))
            """, logger: logger
        ).decode((String, String?).self) {
            hashes[id] = hash
        }
        return hashes
    }

    public func records(connector: String, userIds: [String]) async throws -> [String: String] {
        guard !userIds.isEmpty else { return [:] }
        var records: [String: String] = [:]
        for try await (id, record) in try await client.query(
            """
            SELECT user_id, record_json FROM users WHERE connector = \(connector) AND removed_at IS NULL
            AND user_id = ANY(\(userIds))
            """, logger: logger
        ).decode((String, String?).self) {
            records[id] = record
        }
        return records
    }

    public func rawDigests(connector: String, userIds: [String]) async throws -> [String: String] {
        guard !userIds.isEmpty else { return [:] }
        var digests: [String: String] = [:]
        for try await (id, digest) in try await client.query(
            "SELECT user_id, raw_digest FROM user_digests WHERE connector = \(connector) AND user_id = ANY(\(userIds))",
            logger: logger
        ).decode((String, String).self) {
            digests[id] = digest
        }
        return digests
    }

    public func unchangedByDigest(connector: String, digests: [String: String]) async throws -> Set<String> {
        guard !digests.isEmpty else { return [] }
        let ids = Array(digests.keys)
        let values = ids.map { digests[$0]! }
        var unchanged: Set<String> = []
        // One read: a user an event changed or removed meanwhile has no matching digest row, or is
        // not present (a digest an older replica left behind never keeps a removed user removed).
        for try await id in try await client.query(
            """
            SELECT d.user_id FROM user_digests d
            JOIN unnest(\(ids)::text[], \(values)::text[]) AS u(id, digest)
                ON d.user_id = u.id AND d.raw_digest = u.digest
            WHERE d.connector = \(connector)
                AND EXISTS (SELECT 1 FROM users WHERE users.connector = d.connector
                    AND users.user_id = d.user_id AND users.removed_at IS NULL)
            """, logger: logger
        ).decode(String.self) {
            unchanged.insert(id)
        }
        return unchanged
    }

    public func presentUserIds(connector: String, untouchedSince: Timestamp, after userId: String?, limit: Int)
        async throws -> [String]
    {
        var ids: [String] = []
        for try await id in try await client.query(
            """
            SELECT user_id FROM users WHERE connector = \(connector) AND user_id > \(userId ?? "")
            AND removed_at IS NULL AND updated_at < \(untouchedSince.millisecondsSinceEpoch)
            ORDER BY user_id LIMIT \(limit)
            """, logger: logger
        ).decode(String.self) {
            ids.append(id)
        }
        return ids
    }

    public func recordHeldRemovals(connector: String, runId: Int64, userIds: [String]) async throws {
        // An empty list is kept as a row without a user, so that "nothing" is told apart from "not kept".
        let ids = userIds.isEmpty ? [""] : userIds
        try await transaction { connection in
            try await connection.query("DELETE FROM held_removals WHERE connector = \(connector)", logger: logger)
            try await connection.query(
                """
                INSERT INTO held_removals (connector, run_id, user_id)
                SELECT \(connector), \(runId), id FROM unnest(\(ids)::text[]) AS u(id) ON CONFLICT DO NOTHING
                """, logger: logger)
        }
    }

    public func heldRemovals(connector: String, runId: Int64) async throws -> [String]? {
        var ids: [String] = []
        for try await id in try await client.query(
            "SELECT user_id FROM held_removals WHERE connector = \(connector) AND run_id = \(runId) ORDER BY user_id",
            logger: logger
        ).decode(String.self) {
            ids.append(id)
        }
        return ids.isEmpty ? nil : ids.filter { !$0.isEmpty }
    }

    // MARK: - Enrichment staging

    public func stageEnrichment(
        runId: Int64, apps: [(userId: String, app: AssignedApp)], devices: [(userId: String, device: DeviceSummary)],
        groups: [(userId: String, group: GroupMembership)]
    ) async throws {
        let rows = try EnrichmentStagingRows.encode(apps: apps, devices: devices, groups: groups)
        guard !rows.isEmpty else { return }
        try await client.query(
            """
            INSERT INTO enrichment_staging (run_id, user_id, kind, payload_json)
            SELECT \(runId), s.user_id, s.kind, s.payload
            FROM unnest(\(rows.map(\.userId))::text[], \(rows.map(\.kind))::text[], \(rows.map(\.payload))::text[])
                WITH ORDINALITY AS s(user_id, kind, payload, ordinal)
            ORDER BY s.ordinal
            """, logger: logger)
    }

    public func stagedEnrichment(runId: Int64, userIds: [String]) async throws -> [String: StagedEnrichment] {
        guard !userIds.isEmpty else { return [:] }
        var rows: [(userId: String, kind: String, payload: String)] = []
        for try await (userId, kind, payload) in try await client.query(
            """
            SELECT user_id, kind, payload_json FROM enrichment_staging WHERE run_id = \(runId) AND user_id = ANY(\(userIds))
            ORDER BY position
            """, logger: logger
        ).decode((String, String, String).self) {
            rows.append((userId, kind, payload))
        }
        return try EnrichmentStagingRows.decode(rows, runId: runId)
    }

    public func clearStagedEnrichment(runId: Int64) async throws {
        try await client.query("DELETE FROM enrichment_staging WHERE run_id = \(runId)", logger: logger)
    }

    // MARK: - Inbox

    /// Two statements for a whole group, whatever its size (the receiver commits deliveries in
    /// groups): the deliveries, then the events of those that were new.
    public func insert(_ deliveries: [InboxDelivery]) async throws -> [InboxInsertResult] {
        guard !deliveries.isEmpty else { return [] }
        let logger = logger
        struct Key: Hashable {
            let connector: String
            let eventId: String
        }
        return try await transaction { connection in
            var stored: Set<Key> = []
            for try await (connector, eventId) in try await connection.query(
                """
                INSERT INTO inbox_deliveries (connector, event_id, received_at, event_count)
                SELECT d.connector, d.event_id, d.received_at, d.event_count
                FROM unnest(\(deliveries.map(\.connector))::text[], \(deliveries.map(\.eventId))::text[],
                    \(deliveries.map(\.receivedAt.millisecondsSinceEpoch))::bigint[],
                    \(deliveries.map { Int64($0.events.count) })::bigint[])
                    WITH ORDINALITY AS d(connector, event_id, received_at, event_count, position)
                ORDER BY d.position
                ON CONFLICT (connector, event_id) DO NOTHING RETURNING connector, event_id
                """, logger: logger
            ).decode((String, String).self) {
                stored.insert(Key(connector: connector, eventId: eventId))
            }
            // A delivery given twice in one group is stored once, as its first occurrence.
            var isNew = [Bool](repeating: false, count: deliveries.count)
            var taken: Set<Key> = []
            for (index, delivery) in deliveries.enumerated() {
                let key = Key(connector: delivery.connector, eventId: delivery.eventId)
                if stored.contains(key), taken.insert(key).inserted { isNew[index] = true }
            }
            let events = deliveries.indices.filter { isNew[$0] && !deliveries[$0].discarded }.flatMap { index in
                deliveries[index].events.map { (deliveries[index], $0) }
            }
            var newEvents: [Key: Int] = [:]
            if !events.isEmpty {
                for try await (connector, eventId) in try await connection.query(
                    """
                    INSERT INTO inbox_events (connector, uuid, event_id, event_type, subject_user_id, published, payload_json,
                        received_at)
                    SELECT e.connector, e.uuid, e.event_id, e.type, NULLIF(e.subject, ''), e.published, e.payload, e.received
                    FROM unnest(\(events.map(\.0.connector))::text[], \(events.map(\.1.uuid))::text[],
                        \(events.map(\.0.eventId))::text[], \(events.map(\.1.eventType))::text[],
                        \(events.map { $0.1.subjectUserId ?? "" })::text[],
                        \(events.map(\.1.published.millisecondsSinceEpoch))::bigint[],
                        \(events.map(\.1.payloadJSON))::text[], \(events.map(\.0.receivedAt.millisecondsSinceEpoch))::bigint[])
                        WITH ORDINALITY AS e(connector, uuid, event_id, type, subject, published, payload, received, position)
                    ORDER BY e.position
                    ON CONFLICT (connector, uuid) DO NOTHING RETURNING connector, event_id
                    """, logger: logger
                ).decode((String, String).self) {
                    newEvents[Key(connector: connector, eventId: eventId), default: 0] += 1
                }
            }
            var tally = HookEventTally()
            for index in deliveries.indices where isNew[index] { tally.add(deliveries[index]) }
            let counts = tally.sorted
            if !counts.isEmpty {
                try await connection.query(
                    """
                    INSERT INTO hook_event_counts AS c (connector, hour, events)
                    SELECT * FROM unnest(\(counts.map(\.key.connector))::text[], \(counts.map(\.key.hour))::bigint[],
                        \(counts.map { Int64($0.events) })::bigint[])
                    ON CONFLICT (connector, hour) DO UPDATE SET events = c.events + excluded.events
                    """, logger: logger)
            }
            return deliveries.enumerated().map { index, delivery in
                guard isNew[index] else { return .duplicateDelivery }
                guard !delivery.discarded else { return .stored(newEvents: 0, duplicateEvents: 0) }
                let count = newEvents[Key(connector: delivery.connector, eventId: delivery.eventId)] ?? 0
                return .stored(newEvents: count, duplicateEvents: delivery.events.count - count)
            }
        }
    }

    public func hookEventCounts(connector: String, since: Timestamp) async throws -> [HourlyEventCount] {
        var counts: [HourlyEventCount] = []
        for try await (hour, events) in try await client.query(
            """
            SELECT hour, events FROM hook_event_counts WHERE connector = \(connector)
            AND hour >= \(HourlyEventCount.hour(of: since).millisecondsSinceEpoch) ORDER BY hour
            """, logger: logger
        ).decode((Int64, Int64).self) {
            counts.append(HourlyEventCount(hour: Timestamp(millisecondsSinceEpoch: hour), events: Int(events)))
        }
        return counts
    }

    public func pendingEvents(connector: String, limit: Int, dueAt: Timestamp?) async throws -> [PendingInboxEvent] {
        try await rows(
            """
            SELECT seq, connector, event_id, uuid, event_type, subject_user_id, published, payload_json, received_at, attempts
            FROM inbox_events WHERE connector = \(connector) AND applied_at IS NULL AND failed_at IS NULL
            AND next_attempt_at <= \(dueAt?.millisecondsSinceEpoch ?? Int64.max) ORDER BY published, seq LIMIT \(limit)
            """
        ).map { row in
            PendingInboxEvent(
                seq: try row["seq"].decode(Int64.self), connector: try row["connector"].decode(String.self),
                eventId: try row["event_id"].decode(String.self),
                event: InboxEvent(
                    uuid: try row["uuid"].decode(String.self), eventType: try row["event_type"].decode(String.self),
                    subjectUserId: try row["subject_user_id"].decode(String?.self),
                    published: Timestamp(millisecondsSinceEpoch: try row["published"].decode(Int64.self)),
                    payloadJSON: try row["payload_json"].decode(String.self)),
                receivedAt: Timestamp(millisecondsSinceEpoch: try row["received_at"].decode(Int64.self)),
                attempts: Int(try row["attempts"].decode(Int32.self)))
        }
    }

    public func nextPendingEventDue(connector: String) async throws -> Timestamp? {
        try await optionalTimestamp(
            """
            SELECT MIN(next_attempt_at) FROM inbox_events
            WHERE connector = \(connector) AND applied_at IS NULL AND failed_at IS NULL
            """)
    }

    public func oldestPendingEventPublished(connector: String) async throws -> Timestamp? {
        try await optionalTimestamp(
            """
            SELECT MIN(published) FROM inbox_events
            WHERE connector = \(connector) AND applied_at IS NULL AND failed_at IS NULL
            """)
    }

    public func markApplied(connector: String, seqs: [Int64], at: Timestamp) async throws {
        guard !seqs.isEmpty else { return }
        try await client.query(
            """
            UPDATE inbox_events SET applied_at = \(at.millisecondsSinceEpoch), failed_at = NULL
            WHERE connector = \(connector) AND applied_at IS NULL AND seq = ANY(\(seqs))
            """, logger: logger)
    }

    public func setBack(connector: String, _ setbacks: [InboxSetback], at: Timestamp) async throws {
        guard !setbacks.isEmpty else { return }
        let logger = logger
        try await transaction { connection in
            for setback in setbacks where !setback.seqs.isEmpty {
                switch setback.disposition {
                case .retry(let due, let counts):
                    try await connection.query(
                        """
                        UPDATE inbox_events SET attempts = attempts + \(counts ? 1 : 0),
                            next_attempt_at = \(due.millisecondsSinceEpoch), last_error = \(setback.error)
                        WHERE connector = \(connector) AND applied_at IS NULL AND seq = ANY(\(setback.seqs))
                        """, logger: logger)
                case .fail:
                    try await connection.query(
                        """
                        UPDATE inbox_events SET attempts = attempts + 1, last_error = \(setback.error),
                            failed_at = \(at.millisecondsSinceEpoch)
                        WHERE connector = \(connector) AND applied_at IS NULL AND seq = ANY(\(setback.seqs))
                        """, logger: logger)
                }
            }
        }
    }

    public func failedEvents(connector: String, limit: Int) async throws -> [FailedInboxEvent] {
        try await rows(
            """
            SELECT seq, uuid, event_type, subject_user_id, published, attempts, last_error, failed_at
            FROM inbox_events WHERE connector = \(connector) AND failed_at IS NOT NULL AND applied_at IS NULL
            ORDER BY failed_at DESC, seq DESC LIMIT \(limit)
            """
        ).map { row in
            FailedInboxEvent(
                seq: try row["seq"].decode(Int64.self), uuid: try row["uuid"].decode(String.self),
                eventType: try row["event_type"].decode(String.self),
                subjectUserId: try row["subject_user_id"].decode(String?.self),
                published: Timestamp(millisecondsSinceEpoch: try row["published"].decode(Int64.self)),
                attempts: Int(try row["attempts"].decode(Int32.self)),
                lastError: try row["last_error"].decode(String?.self) ?? "",
                failedAt: Timestamp(millisecondsSinceEpoch: try row["failed_at"].decode(Int64.self)))
        }
    }

    public func failedEventCount(connector: String) async throws -> Int {
        try await count(
            """
            SELECT COUNT(*) FROM inbox_events WHERE connector = \(connector) AND failed_at IS NOT NULL
            AND applied_at IS NULL
            """)
    }

    public func retryFailedEvents(connector: String, seqs: [Int64]?, at: Timestamp) async throws -> Int {
        let query: PostgresQuery
        if let seqs {
            query = """
                UPDATE inbox_events SET failed_at = NULL, attempts = 0, next_attempt_at = \(at.millisecondsSinceEpoch)
                WHERE connector = \(connector) AND failed_at IS NOT NULL AND applied_at IS NULL AND seq = ANY(\(seqs))
                RETURNING 1
                """
        } else {
            query = """
                UPDATE inbox_events SET failed_at = NULL, attempts = 0, next_attempt_at = \(at.millisecondsSinceEpoch)
                WHERE connector = \(connector) AND failed_at IS NOT NULL AND applied_at IS NULL RETURNING 1
                """
        }
        return try await client.query(query, logger: logger).collect().count
    }

    public func eventsReceivedPerMinute(connector: String, since: Timestamp) async throws -> [Int64: Int] {
        var minutes: [Int64: Int] = [:]
        for try await (minute, events) in try await client.query(
            """
            SELECT received_at / 60000 * 60000 AS minute, COUNT(*) FROM inbox_events
            WHERE connector = \(connector) AND received_at >= \(since.millisecondsSinceEpoch) GROUP BY minute
            """, logger: logger
        ).decode((Int64, Int64).self) {
            minutes[minute] = Int(events)
        }
        return minutes
    }

    public func latestDeliveryReceived(connector: String) async throws -> Timestamp? {
        try await optionalTimestamp("SELECT MAX(received_at) FROM inbox_deliveries WHERE connector = \(connector)")
    }

    public func inboxDepth(connector: String) async throws -> Int {
        try await count(
            """
            SELECT COUNT(*) FROM inbox_events WHERE connector = \(connector) AND applied_at IS NULL AND failed_at IS NULL
            """)
    }

    // MARK: - Outbox

    public func pendingOutbox(connector: String, limit: Int) async throws -> [OutboxEntry] {
        try await rows(
            """
            SELECT seq, connector, user_id, op, version, record_json, created_at, attempts, next_attempt_at, last_error
            FROM outbox WHERE connector = \(connector) ORDER BY seq LIMIT \(limit)
            """
        ).map { row in
            let seq = try row["seq"].decode(Int64.self)
            let opText = try row["op"].decode(String.self)
            guard let operation = OutboxOperation(rawValue: opText) else {
                throw StoreError.corruptRow(table: "outbox", key: "\(seq)", reason: "unknown op \(opText)")
            }
            return OutboxEntry(
                seq: seq, connector: try row["connector"].decode(String.self),
                userId: try row["user_id"].decode(String.self), operation: operation,
                version: try row["version"].decode(Int64.self), recordJSON: try row["record_json"].decode(String?.self),
                createdAt: Timestamp(millisecondsSinceEpoch: try row["created_at"].decode(Int64.self)),
                attempts: Int(try row["attempts"].decode(Int32.self)),
                nextAttemptAt: Timestamp(millisecondsSinceEpoch: try row["next_attempt_at"].decode(Int64.self)),
                lastError: try row["last_error"].decode(String?.self))
        }
    }

    public func markForwarded(connector: String, seqs: [Int64]) async throws {
        guard !seqs.isEmpty else { return }
        try await client.query(
            "DELETE FROM outbox WHERE connector = \(connector) AND seq = ANY(\(seqs))", logger: logger)
    }

    public func recordForwardFailure(
        connector: String, seqs: [Int64], error: String, nextAttemptAt: Timestamp
    ) async throws {
        guard !seqs.isEmpty else { return }
        try await client.query(
            """
            UPDATE outbox SET attempts = attempts + 1, last_error = \(error),
                next_attempt_at = \(nextAttemptAt.millisecondsSinceEpoch)
            WHERE connector = \(connector) AND seq = ANY(\(seqs))
            """, logger: logger)
    }

    public func moveToDeadLetters(connector: String, seqs: [Int64], reason: String, at: Timestamp) async throws {
        guard !seqs.isEmpty else { return }
        try await client.query(
            """
            WITH moved AS (
                DELETE FROM outbox WHERE connector = \(connector) AND seq = ANY(\(seqs))
                RETURNING seq, connector, user_id, op, version, record_json, attempts, created_at)
            INSERT INTO dead_letters (connector, user_id, op, version, record_json, reason, attempts, created_at, failed_at)
            SELECT connector, user_id, op, version, record_json, \(reason), attempts + 1, created_at,
                \(at.millisecondsSinceEpoch)
            FROM moved ORDER BY seq
            """, logger: logger)
    }

    public func requeuePresentUsers(connector: String, at: Timestamp) async throws -> Int {
        let now = at.millisecondsSinceEpoch
        return try await client.query(
            """
            INSERT INTO outbox (connector, user_id, op, version, record_json, created_at, attempts, next_attempt_at)
            SELECT connector, user_id, 'upsert', version, record_json, \(now), 0, \(now) FROM users
            WHERE connector = \(connector) AND removed_at IS NULL AND record_json IS NOT NULL ORDER BY user_id
            RETURNING 1
            """, logger: logger
        ).collect().count
    }

    public func outboxStats(connector: String) async throws -> OutboxStats {
        for try await (depth, oldest) in try await client.query(
            "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE connector = \(connector)", logger: logger
        ).decode((Int64, Int64?).self) {
            return OutboxStats(depth: Int(depth), oldestCreatedAt: oldest.map { Timestamp(millisecondsSinceEpoch: $0) })
        }
        return OutboxStats(depth: 0, oldestCreatedAt: nil)
    }

    // MARK: - Dead letters

    public func deadLetters(connector: String, limit: Int) async throws -> [DeadLetter] {
        try await rows(
            """
            SELECT id, connector, user_id, op, version, record_json, reason, attempts, created_at, failed_at
            FROM dead_letters WHERE connector = \(connector) ORDER BY id LIMIT \(limit)
            """
        ).map { row in
            DeadLetter(
                id: try row["id"].decode(Int64.self), connector: try row["connector"].decode(String.self),
                userId: try row["user_id"].decode(String.self),
                operation: OutboxOperation(rawValue: try row["op"].decode(String.self)) ?? .upsert,
                version: try row["version"].decode(Int64.self), recordJSON: try row["record_json"].decode(String?.self),
                reason: try row["reason"].decode(String.self), attempts: Int(try row["attempts"].decode(Int32.self)),
                createdAt: Timestamp(millisecondsSinceEpoch: try row["created_at"].decode(Int64.self)),
                failedAt: Timestamp(millisecondsSinceEpoch: try row["failed_at"].decode(Int64.self)))
        }
    }

    public func deadLetterCount(connector: String) async throws -> Int {
        try await count("SELECT COUNT(*) FROM dead_letters WHERE connector = \(connector)")
    }

    public func replayDeadLetters(connector: String, ids: [Int64]?, at: Timestamp) async throws -> Int {
        let now = at.millisecondsSinceEpoch
        let query: PostgresQuery
        if let ids {
            query = """
                WITH moved AS (
                    DELETE FROM dead_letters WHERE connector = \(connector) AND id = ANY(\(ids))
                    RETURNING id, connector, user_id, op, version, record_json)
                INSERT INTO outbox (connector, user_id, op, version, record_json, created_at, attempts, next_attempt_at)
                SELECT connector, user_id, op, version, record_json, \(now), 0, \(now) FROM moved ORDER BY id
                RETURNING 1
                """
        } else {
            query = """
                WITH moved AS (
                    DELETE FROM dead_letters WHERE connector = \(connector)
                    RETURNING id, connector, user_id, op, version, record_json)
                INSERT INTO outbox (connector, user_id, op, version, record_json, created_at, attempts, next_attempt_at)
                SELECT connector, user_id, op, version, record_json, \(now), 0, \(now) FROM moved ORDER BY id
                RETURNING 1
                """
        }
        return try await client.query(query, logger: logger).collect().count
    }

    // MARK: - Runs

    public func startRun(connector: String, trigger: RunTrigger, dryRun: Bool, at: Timestamp) async throws -> Int64 {
        for try await id in try await client.query(
            """
            INSERT INTO runs (connector, run_trigger, dry_run, started_at, outcome, owner)
            VALUES (\(connector), \(trigger.rawValue), \(dryRun), \(at.millisecondsSinceEpoch), 'running',
                \(ProcessIdentity.current.description))
            RETURNING id
            """, logger: logger
        ).decode(Int64.self) {
            return id
        }
        throw StoreError.corruptRow(table: "runs", key: connector, reason: "no id returned")
    }

    public func finishRun(_ record: RunRecord) async throws {
        let calls = try JSONCoding.string(record.oktaCalls)
        let errors = try JSONCoding.string(record.errors)
        try await client.query(
            """
            UPDATE runs SET ended_at = \(record.endedAt?.millisecondsSinceEpoch), outcome = \(record.outcome.rawValue),
                listed = \(record.counts.listed), created = \(record.counts.created), updated = \(record.counts.updated),
                unchanged = \(record.counts.unchanged), removed = \(record.counts.removed), drift = \(record.drift),
                okta_calls_json = \(calls), rate_limited = \(record.rateLimited), errors_json = \(errors),
                last_logon_updates = \(record.lastLogonUpdates)
            WHERE id = \(record.id)
            """, logger: logger)
    }

    public func updateRunProgress(_ record: RunRecord) async throws {
        let calls = try JSONCoding.string(record.oktaCalls)
        try await client.query(
            """
            UPDATE runs SET listed = \(record.counts.listed), created = \(record.counts.created),
                updated = \(record.counts.updated), unchanged = \(record.counts.unchanged), removed = \(record.counts.removed),
                okta_calls_json = \(calls), rate_limited = \(record.rateLimited)
            WHERE id = \(record.id) AND outcome = 'running'
            """, logger: logger)
    }

    static let runColumns = """
        id, connector, run_trigger, dry_run, started_at, ended_at, outcome, listed, created, updated, unchanged, removed,
        drift, okta_calls_json, rate_limited, errors_json, owner, forwarded, last_logon_updates
        """

    static func runRecord(_ row: PostgresRandomAccessRow) throws -> RunRecord {
        let id = try row["id"].decode(Int64.self)
        do {
            func int(_ column: String) throws -> Int { Int(try row[column].decode(Int32.self)) }
            return RunRecord(
                id: id, connector: try row["connector"].decode(String.self),
                trigger: RunTrigger(rawValue: try row["run_trigger"].decode(String.self)) ?? .manual,
                dryRun: try row["dry_run"].decode(Bool.self),
                startedAt: Timestamp(millisecondsSinceEpoch: try row["started_at"].decode(Int64.self)),
                endedAt: try row["ended_at"].decode(Int64?.self).map { Timestamp(millisecondsSinceEpoch: $0) },
                outcome: RunOutcome(rawValue: try row["outcome"].decode(String.self)) ?? .failed,
                counts: RunCounts(
                    listed: try int("listed"), created: try int("created"), updated: try int("updated"),
                    unchanged: try int("unchanged"), removed: try int("removed")),
                drift: try int("drift"),
                oktaCalls: try JSONCoding.decode(
                    [String: Int].self, from: try row["okta_calls_json"].decode(String.self)),
                rateLimited: try int("rate_limited"),
                errors: try JSONCoding.decode([String].self, from: try row["errors_json"].decode(String.self)),
                owner: try row["owner"].decode(String?.self), forwarded: try row["forwarded"].decode(Bool?.self),
                lastLogonUpdates: try int("last_logon_updates"))
        } catch {
            throw StoreError.corruptRow(table: "runs", key: "\(id)", reason: "\(error)")
        }
    }

    public func recordRunForwarding(id: Int64, forwarded: Bool) async throws {
        try await client.query("UPDATE runs SET forwarded = \(forwarded) WHERE id = \(id)", logger: logger)
    }

    public func runs(connector: String, limit: Int) async throws -> [RunRecord] {
        try await rows(
            """
            SELECT \(unescaped: Self.runColumns) FROM runs WHERE connector = \(connector) ORDER BY id DESC LIMIT \(limit)
            """
        ).map(Self.runRecord)
    }

    public func run(id: Int64) async throws -> RunRecord? {
        try await rows("SELECT \(unescaped: Self.runColumns) FROM runs WHERE id = \(id)").first.map(Self.runRecord)
    }

    public func interruptAbandonedRuns(at: Timestamp) async throws -> [Int64] {
        let me = ProcessIdentity.current
        let logger = logger
        return try await transaction { connection in
            var abandoned: [Int64] = []
            for try await (id, owner, holder, expires) in try await connection.query(
                """
                SELECT runs.id, runs.owner, run_leases.holder, run_leases.expires_at FROM runs
                LEFT JOIN run_leases ON run_leases.connector = runs.connector
                WHERE runs.outcome = 'running' FOR UPDATE OF runs
                """, logger: logger
            ).decode((Int64, String?, String?, Int64?).self) {
                if RunRecovery.isAbandoned(
                    owner: owner, leaseHolder: holder, leaseExpiresAt: expires, me: me, at: at.millisecondsSinceEpoch)
                {
                    abandoned.append(id)
                }
            }
            guard !abandoned.isEmpty else { return [] }
            try await connection.query(
                """
                UPDATE runs SET outcome = 'interrupted', ended_at = COALESCE(ended_at, \(at.millisecondsSinceEpoch)),
                    errors_json = '["interrupted: the process running it stopped before it finished"]'
                WHERE id = ANY(\(abandoned))
                """, logger: logger)
            try await connection.query(
                "DELETE FROM enrichment_staging WHERE run_id = ANY(\(abandoned))", logger: logger)
            return abandoned
        }
    }

    // MARK: - Run leases

    public func acquireRunLease(
        connector: String, holder: ProcessIdentity, at: Timestamp, expiresAt: Timestamp
    ) async throws -> RunLeaseAcquisition {
        let logger = logger
        return try await transaction { connection in
            // The row is locked for the decision; a missing row is taken by the insert below, and a
            // concurrent insert of the same connector waits on the primary key, then re-decides.
            var current: RunLease?
            for try await (leaseHolder, acquired, expires) in try await connection.query(
                """
                SELECT holder, acquired_at, expires_at FROM run_leases WHERE connector = \(connector) FOR UPDATE
                """, logger: logger
            ).decode((String, Int64, Int64).self) {
                current = RunLease(
                    connector: connector, holder: leaseHolder, acquiredAt: Timestamp(millisecondsSinceEpoch: acquired),
                    expiresAt: Timestamp(millisecondsSinceEpoch: expires))
            }
            let decision = RunLeaseDecision.claim(current: current, by: holder, at: at)
            guard decision == .acquired else { return decision }
            try await connection.query(
                """
                INSERT INTO run_leases (connector, holder, acquired_at, expires_at)
                VALUES (\(connector), \(holder.description), \(at.millisecondsSinceEpoch), \(expiresAt.millisecondsSinceEpoch))
                ON CONFLICT (connector) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at,
                    expires_at = excluded.expires_at
                """, logger: logger)
            return .acquired
        }
    }

    public func renewRunLease(connector: String, holder: ProcessIdentity, expiresAt: Timestamp) async throws -> Bool {
        try await !client.query(
            """
            UPDATE run_leases SET expires_at = \(expiresAt.millisecondsSinceEpoch)
            WHERE connector = \(connector) AND holder = \(holder.description) RETURNING 1
            """, logger: logger
        ).collect().isEmpty
    }

    public func releaseRunLease(connector: String, holder: ProcessIdentity) async throws {
        try await client.query(
            "DELETE FROM run_leases WHERE connector = \(connector) AND holder = \(holder.description)", logger: logger)
    }

    public func runLease(connector: String) async throws -> RunLease? {
        for try await (holder, acquired, expires) in try await client.query(
            "SELECT holder, acquired_at, expires_at FROM run_leases WHERE connector = \(connector)", logger: logger
        ).decode((String, Int64, Int64).self) {
            return RunLease(
                connector: connector, holder: holder, acquiredAt: Timestamp(millisecondsSinceEpoch: acquired),
                expiresAt: Timestamp(millisecondsSinceEpoch: expires))
        }
        return nil
    }

    // MARK: - Worker leases

    /// Refuses a write whose worker lease (its fence) is not the store's lease any more. The lease
    /// row is held (`FOR SHARE`) until the writer's transaction ends: a takeover (an update of that
    /// row) waits for the write or finds it done; a write after the takeover finds the new epoch.
    /// - Throws: ``StoreError/fenced(connector:epoch:)``.
    static func check(
        _ fence: WorkerFence?, connector: String, at: Timestamp, on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard let fence else { return }
        var lease: WorkerLease?
        for try await (holder, epoch, expires) in try await connection.query(
            "SELECT holder, epoch, expires_at FROM worker_leases WHERE connector = \(connector) FOR SHARE",
            logger: logger
        ).decode((String, Int64, Int64).self) {
            lease = WorkerLease(
                connector: connector, holder: holder, epoch: epoch,
                expiresAt: Timestamp(millisecondsSinceEpoch: expires))
        }
        guard fence.admits(lease, at: at) else { throw StoreError.fenced(connector: connector, epoch: fence.epoch) }
    }

    public func claimWorkerLease(connector: String, holder: String, at: Timestamp, expiresAt: Timestamp)
        async throws -> WorkerLease
    {
        let logger = logger
        return try await transaction { connection in
            // Make sure the row exists, then decide on it locked: two replicas claiming at once
            // serialize here, and only one can win an expired lease.
            try await connection.query(
                """
                INSERT INTO worker_leases (connector, holder, epoch, expires_at) VALUES (\(connector), '', 0, 0)
                ON CONFLICT (connector) DO NOTHING
                """, logger: logger)
            var current: WorkerLease?
            for try await (currentHolder, epoch, expires) in try await connection.query(
                "SELECT holder, epoch, expires_at FROM worker_leases WHERE connector = \(connector) FOR UPDATE",
                logger: logger
            ).decode((String, Int64, Int64).self) {
                current = WorkerLease(
                    connector: connector, holder: currentHolder, epoch: epoch,
                    expiresAt: Timestamp(millisecondsSinceEpoch: expires))
            }
            guard let current else {
                throw StoreError.corruptRow(table: "worker_leases", key: connector, reason: "the row vanished")
            }
            // The placeholder row (epoch 0, lapsed) gives the first holder epoch 1.
            let decision = WorkerLeaseDecision.claim(
                current: current, connector: connector, by: holder, at: at, expiresAt: expiresAt)
            guard case .granted(let lease) = decision else { return decision.lease }
            try await connection.query(
                """
                UPDATE worker_leases SET holder = \(holder), epoch = \(lease.epoch), expires_at = \(expiresAt.millisecondsSinceEpoch)
                WHERE connector = \(connector)
                """, logger: logger)
            return lease
        }
    }

    public func releaseWorkerLease(connector: String, holder: String) async throws {
        try await client.query(
            "UPDATE worker_leases SET expires_at = 0 WHERE connector = \(connector) AND holder = \(holder)",
            logger: logger)
    }

    public func workerLease(connector: String) async throws -> WorkerLease? {
        for try await (holder, epoch, expires) in try await client.query(
            "SELECT holder, epoch, expires_at FROM worker_leases WHERE connector = \(connector) AND holder <> ''",
            logger: logger
        ).decode((String, Int64, Int64).self) {
            return WorkerLease(
                connector: connector, holder: holder, epoch: epoch,
                expiresAt: Timestamp(millisecondsSinceEpoch: expires))
        }
        return nil
    }

    // MARK: - Schedule

    public func scheduleState(connector: String) async throws -> ScheduleState? {
        for try await (lastDue, lastStarted, lastSucceeded, nextDue) in try await client.query(
            """
            SELECT last_due_at, last_started_at, last_succeeded_at, next_due_at FROM schedule_state
            WHERE connector = \(connector)
            """, logger: logger
        ).decode((Int64?, Int64?, Int64?, Int64?).self) {
            func stamp(_ value: Int64?) -> Timestamp? { value.map { Timestamp(millisecondsSinceEpoch: $0) } }
            return ScheduleState(
                connector: connector, lastDueAt: stamp(lastDue), lastStartedAt: stamp(lastStarted),
                lastSucceededAt: stamp(lastSucceeded), nextDueAt: stamp(nextDue))
        }
        return nil
    }

    public func saveScheduleState(_ state: ScheduleState) async throws {
        try await client.query(
            """
            INSERT INTO schedule_state (connector, last_due_at, last_started_at, last_succeeded_at, next_due_at)
            VALUES (\(state.connector), \(state.lastDueAt?.millisecondsSinceEpoch),
                \(state.lastStartedAt?.millisecondsSinceEpoch), \(state.lastSucceededAt?.millisecondsSinceEpoch),
                \(state.nextDueAt?.millisecondsSinceEpoch))
            ON CONFLICT (connector) DO UPDATE SET last_due_at = excluded.last_due_at,
                last_started_at = excluded.last_started_at, last_succeeded_at = excluded.last_succeeded_at,
                next_due_at = excluded.next_due_at
            """, logger: logger)
    }

    // MARK: - Retention

    public func prune(_ horizons: RetentionHorizons, now: Timestamp) async throws -> PruneCounts {
        let at = now.millisecondsSinceEpoch
        let logger = logger
        return try await transaction { connection in
            func deleted(_ query: PostgresQuery) async throws -> Int {
                try await connection.query(query, logger: logger).collect().count
            }
            var counts = PruneCounts()
            counts.appliedEvents = try await deleted(
                """
                DELETE FROM inbox_events WHERE applied_at IS NOT NULL AND received_at < \(at - horizons.dedupeWindow)
                RETURNING 1
                """)
            counts.deliveries = try await deleted(
                "DELETE FROM inbox_deliveries WHERE received_at < \(at - horizons.dedupeWindow) RETURNING 1")
            counts.failedEvents = try await deleted(
                """
                DELETE FROM inbox_events WHERE failed_at IS NOT NULL AND applied_at IS NULL
                AND failed_at < \(at - horizons.failedEvents) RETURNING 1
                """)
            counts.deadLetters = try await deleted(
                "DELETE FROM dead_letters WHERE failed_at < \(at - horizons.deadLetters) RETURNING 1")
            counts.runs = try await deleted(
                """
                DELETE FROM runs WHERE outcome <> 'running' AND COALESCE(ended_at, started_at) < \(at - horizons.runs)
                AND id NOT IN (
                    SELECT id FROM (
                        SELECT id, ROW_NUMBER() OVER (PARTITION BY connector ORDER BY id DESC) AS position FROM runs
                    ) ranked WHERE position <= \(horizons.keepRuns))
                RETURNING 1
                """)
            try await connection.query(
                "DELETE FROM hook_event_counts WHERE hour < \(at - HookEventTally.kept)", logger: logger)
            // PostgreSQL's autovacuum reclaims the space of deleted rows.
            return counts
        }
    }
}

extension PostgreSQLStateStore {
    /// Rewrites a run's owner (tests of crash recovery: a run of a process that died).
    public func setRunOwnerForTesting(runId: Int64, owner: ProcessIdentity) async throws {
        try await client.query("UPDATE runs SET owner = \(owner.description) WHERE id = \(runId)", logger: logger)
    }
}
