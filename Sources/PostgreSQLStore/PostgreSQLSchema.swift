/// The PostgreSQL schema as versioned migrations (SPEC §10), applied at start under a migration
/// lock so that replicas starting together migrate once. The same tables as the SQLite backend:
/// times are `BIGINT` milliseconds since the epoch, sequence numbers are identity columns, ids
/// that are ordered compare byte-wise (`COLLATE "C"`), JSON is text. Never edit a released
/// migration; add a new one.
enum PostgreSQLSchema {
    struct Migration {
        let identifier: String
        let sql: [String]
    }

    /// The key of the advisory lock held while migrating.
    static let migrationLock: Int64 = 0x6F6B_7461_2D6D_6967  // "okta-mig"

    static let migrations: [Migration] = [
        Migration(
            identifier: "v1: users, inbox, outbox, dead letters, runs, schedule, staging",
            sql: [
                """
                CREATE TABLE users (
                    connector TEXT COLLATE "C" NOT NULL,
                    user_id TEXT COLLATE "C" NOT NULL,
                    status TEXT NOT NULL,
                    snapshot_json TEXT NOT NULL,
                    record_json TEXT,
                    record_hash TEXT,
                    version BIGINT NOT NULL,
                    last_seen_run BIGINT,
                    removed_at BIGINT,
                    updated_at BIGINT NOT NULL,
                    okta_updated_at BIGINT,
                    PRIMARY KEY (connector, user_id)
                )
                """,
                "CREATE INDEX users_present ON users (connector, removed_at, last_seen_run)",
                """
                CREATE TABLE inbox_deliveries (
                    connector TEXT COLLATE "C" NOT NULL,
                    event_id TEXT COLLATE "C" NOT NULL,
                    received_at BIGINT NOT NULL,
                    event_count INTEGER NOT NULL,
                    PRIMARY KEY (connector, event_id)
                )
                """,
                "CREATE INDEX inbox_deliveries_received ON inbox_deliveries (received_at)",
                """
                CREATE TABLE inbox_events (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    connector TEXT COLLATE "C" NOT NULL,
                    uuid TEXT COLLATE "C" NOT NULL,
                    event_id TEXT NOT NULL,
                    event_type TEXT NOT NULL,
                    subject_user_id TEXT,
                    published BIGINT NOT NULL,
                    payload_json TEXT NOT NULL,
                    received_at BIGINT NOT NULL,
                    applied_at BIGINT,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at BIGINT NOT NULL DEFAULT 0,
                    last_error TEXT,
                    failed_at BIGINT,
                    UNIQUE (connector, uuid)
                )
                """,
                """
                CREATE INDEX inbox_pending ON inbox_events (connector, published, seq)
                    WHERE applied_at IS NULL AND failed_at IS NULL
                """,
                "CREATE INDEX inbox_applied ON inbox_events (received_at) WHERE applied_at IS NOT NULL",
                "CREATE INDEX inbox_failed ON inbox_events (connector, failed_at) WHERE failed_at IS NOT NULL",
                """
                CREATE TABLE outbox (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    connector TEXT COLLATE "C" NOT NULL,
                    user_id TEXT COLLATE "C" NOT NULL,
                    op TEXT NOT NULL,
                    version BIGINT NOT NULL,
                    record_json TEXT,
                    created_at BIGINT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at BIGINT NOT NULL,
                    last_error TEXT
                )
                """,
                "CREATE INDEX outbox_queue ON outbox (connector, seq)",
                """
                CREATE TABLE dead_letters (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    connector TEXT COLLATE "C" NOT NULL,
                    user_id TEXT COLLATE "C" NOT NULL,
                    op TEXT NOT NULL,
                    version BIGINT NOT NULL,
                    record_json TEXT,
                    reason TEXT NOT NULL,
                    attempts INTEGER NOT NULL,
                    created_at BIGINT NOT NULL,
                    failed_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX dead_letters_by_connector ON dead_letters (connector, id)",
                "CREATE INDEX dead_letters_failed ON dead_letters (failed_at)",
                """
                CREATE TABLE runs (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    connector TEXT COLLATE "C" NOT NULL,
                    run_trigger TEXT NOT NULL,
                    dry_run BOOLEAN NOT NULL,
                    started_at BIGINT NOT NULL,
                    ended_at BIGINT,
                    outcome TEXT NOT NULL,
                    listed INTEGER NOT NULL DEFAULT 0,
                    created INTEGER NOT NULL DEFAULT 0,
                    updated INTEGER NOT NULL DEFAULT 0,
                    unchanged INTEGER NOT NULL DEFAULT 0,
                    removed INTEGER NOT NULL DEFAULT 0,
                    drift INTEGER NOT NULL DEFAULT 0,
                    okta_calls_json TEXT NOT NULL DEFAULT '{}',
                    rate_limited INTEGER NOT NULL DEFAULT 0,
                    errors_json TEXT NOT NULL DEFAULT '[]',
                    owner TEXT
                )
                """,
                "CREATE INDEX runs_by_connector ON runs (connector, id)",
                "CREATE INDEX runs_running ON runs (outcome) WHERE outcome = 'running'",
                """
                CREATE TABLE schedule_state (
                    connector TEXT COLLATE "C" PRIMARY KEY,
                    last_due_at BIGINT,
                    last_started_at BIGINT,
                    last_succeeded_at BIGINT,
                    next_due_at BIGINT
                )
                """,
                """
                CREATE TABLE enrichment_staging (
                    run_id BIGINT NOT NULL,
                    user_id TEXT COLLATE "C" NOT NULL,
                    kind TEXT NOT NULL,
                    payload_json TEXT NOT NULL
                )
                """,
                "CREATE INDEX enrichment_staging_by_user ON enrichment_staging (run_id, user_id)",
            ]),
        Migration(
            identifier: "v2: run leases across processes",
            sql: [
                """
                CREATE TABLE run_leases (
                    connector TEXT COLLATE "C" PRIMARY KEY,
                    holder TEXT NOT NULL,
                    acquired_at BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL
                )
                """
            ]),
        Migration(
            identifier: "v3: worker leases for several replicas",
            sql: [
                """
                CREATE TABLE worker_leases (
                    connector TEXT COLLATE "C" PRIMARY KEY,
                    holder TEXT NOT NULL,
                    epoch BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL
                )
                """
            ]),
        Migration(
            identifier: "v4: system log polling cursor",
            sql: [
                """
                CREATE TABLE system_log_cursors (
                    connector TEXT COLLATE "C" PRIMARY KEY,
                    next_url TEXT,
                    newest_published BIGINT,
                    newest_uuid TEXT,
                    last_poll_at BIGINT,
                    last_outcome TEXT,
                    last_succeeded_at BIGINT,
                    polled_events BIGINT NOT NULL DEFAULT 0,
                    missed_deliveries BIGINT NOT NULL DEFAULT 0
                )
                """
            ]),
        Migration(
            // The digest of what a user's snapshot and record were made from, written by reconciles,
            // and the run that last found the user listed unchanged by it: a narrow table, so that
            // marking an unchanged user seen writes a few bytes, not the user's wide row (SPEC §6).
            identifier: "v5: raw user digests",
            sql: [
                """
                CREATE TABLE user_digests (
                    connector TEXT COLLATE "C" NOT NULL,
                    user_id TEXT COLLATE "C" NOT NULL,
                    raw_digest TEXT NOT NULL,
                    seen_run BIGINT,
                    PRIMARY KEY (connector, user_id)
                )
                """
            ]),
        Migration(
            // A reconcile keeps the users it listed in memory, not as a mark per user; the sweep
            // pages through present ids from an index (no heap rows), and a held run keeps what it
            // would have removed for the operator.
            identifier: "v6: sweep from an index, held removals",
            sql: [
                "CREATE INDEX users_presence ON users (connector, user_id) INCLUDE (removed_at, updated_at)",
                """
                CREATE TABLE held_removals (
                    connector TEXT COLLATE "C" NOT NULL,
                    run_id BIGINT NOT NULL,
                    user_id TEXT COLLATE "C" NOT NULL,
                    PRIMARY KEY (connector, run_id, user_id)
                )
                """,
            ]),
        Migration(
            // A user's staged apps and devices come back in the order they were staged: a heap
            // gives no order without ORDER BY (rows land in space freed by earlier runs), and the
            // snapshot of a user must not depend on where a row happened to land.
            identifier: "v7: staging rows keep their order",
            sql: [
                "ALTER TABLE enrichment_staging ADD COLUMN position BIGINT GENERATED ALWAYS AS IDENTITY"
            ]),
        Migration(
            // NULL: forwarded by `serve`'s forwarder, or a run from before this column.
            identifier: "v8: whether a run's changes were forwarded",
            sql: ["ALTER TABLE runs ADD COLUMN forwarded BOOLEAN"]),
        Migration(
            // The console's events per minute count what reached the inbox from either source
            // (deliveries and System Log polling), newest hour only: from this index, not the heap.
            identifier: "v9: inbox events by arrival",
            sql: ["CREATE INDEX inbox_received ON inbox_events (connector, received_at)"]),
        Migration(
            identifier: "v10: Okta's last answer to the credentials",
            sql: [
                """
                CREATE TABLE okta_contact (
                    connector TEXT COLLATE "C" PRIMARY KEY,
                    last_accepted_at BIGINT,
                    rejected_at BIGINT,
                    rejection TEXT
                )
                """
            ]),
        Migration(
            // Every replica adds its new deliveries' events to the hour they arrived in (SPEC §20).
            identifier: "v11: event hook events per hour, Okta's clock, LastLogon-only updates",
            sql: [
                """
                CREATE TABLE hook_event_counts (
                    connector TEXT COLLATE "C" NOT NULL,
                    hour BIGINT NOT NULL,
                    events BIGINT NOT NULL,
                    PRIMARY KEY (connector, hour)
                )
                """,
                "ALTER TABLE okta_contact ADD COLUMN clock_offset_ms BIGINT",
                "ALTER TABLE okta_contact ADD COLUMN clock_measured_at BIGINT",
                "ALTER TABLE okta_contact ADD COLUMN hook_warning TEXT",
                "ALTER TABLE runs ADD COLUMN last_logon_updates INTEGER NOT NULL DEFAULT 0",
            ]),
    ]
}
