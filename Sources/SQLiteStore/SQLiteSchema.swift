internal import GRDB

/// The SQLite schema as versioned migrations, applied when the store opens (SPEC §10).
///
/// Portable by design, with the PostgreSQL backend in mind: times are integer milliseconds since
/// the epoch, JSON is text, upserts are `INSERT ... ON CONFLICT`. Never edit a released migration;
/// add a new one.
enum SQLiteSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: users, inbox, outbox, dead letters, runs, schedule") { db in
            try db.execute(
                sql: """
                    CREATE TABLE users (
                        connector TEXT NOT NULL,
                        user_id TEXT NOT NULL,
                        status TEXT NOT NULL,
                        snapshot_json TEXT NOT NULL,
                        record_json TEXT,
                        record_hash TEXT,
                        version INTEGER NOT NULL,
                        last_seen_run INTEGER,
                        removed_at INTEGER,
                        updated_at INTEGER NOT NULL,
                        PRIMARY KEY (connector, user_id)
                    );
                    CREATE INDEX users_present ON users (connector, removed_at, last_seen_run);

                    CREATE TABLE inbox_deliveries (
                        connector TEXT NOT NULL,
                        event_id TEXT NOT NULL,
                        received_at INTEGER NOT NULL,
                        event_count INTEGER NOT NULL,
                        PRIMARY KEY (connector, event_id)
                    );
                    CREATE TABLE inbox_events (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        connector TEXT NOT NULL,
                        uuid TEXT NOT NULL,
                        event_id TEXT NOT NULL,
                        event_type TEXT NOT NULL,
                        subject_user_id TEXT,
                        published INTEGER NOT NULL,
                        payload_json TEXT NOT NULL,
                        received_at INTEGER NOT NULL,
                        applied_at INTEGER,
                        UNIQUE (connector, uuid)
                    );
                    CREATE INDEX inbox_pending ON inbox_events (connector, published, seq) WHERE applied_at IS NULL;

                    CREATE TABLE outbox (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        connector TEXT NOT NULL,
                        user_id TEXT NOT NULL,
                        op TEXT NOT NULL,
                        version INTEGER NOT NULL,
                        record_json TEXT,
                        created_at INTEGER NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at INTEGER NOT NULL,
                        last_error TEXT
                    );
                    CREATE INDEX outbox_queue ON outbox (connector, seq);

                    CREATE TABLE dead_letters (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        connector TEXT NOT NULL,
                        user_id TEXT NOT NULL,
                        op TEXT NOT NULL,
                        version INTEGER NOT NULL,
                        record_json TEXT,
                        reason TEXT NOT NULL,
                        attempts INTEGER NOT NULL,
                        created_at INTEGER NOT NULL,
                        failed_at INTEGER NOT NULL
                    );
                    CREATE INDEX dead_letters_by_connector ON dead_letters (connector, id);

                    CREATE TABLE runs (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        connector TEXT NOT NULL,
                        run_trigger TEXT NOT NULL,
                        dry_run INTEGER NOT NULL,
                        started_at INTEGER NOT NULL,
                        ended_at INTEGER,
                        outcome TEXT NOT NULL,
                        listed INTEGER NOT NULL DEFAULT 0,
                        created INTEGER NOT NULL DEFAULT 0,
                        updated INTEGER NOT NULL DEFAULT 0,
                        unchanged INTEGER NOT NULL DEFAULT 0,
                        removed INTEGER NOT NULL DEFAULT 0,
                        drift INTEGER NOT NULL DEFAULT 0,
                        okta_calls_json TEXT NOT NULL DEFAULT '{}',
                        rate_limited INTEGER NOT NULL DEFAULT 0,
                        errors_json TEXT NOT NULL DEFAULT '[]'
                    );
                    CREATE INDEX runs_by_connector ON runs (connector, id);

                    CREATE TABLE schedule_state (
                        connector TEXT PRIMARY KEY,
                        last_due_at INTEGER,
                        last_started_at INTEGER,
                        last_succeeded_at INTEGER,
                        next_due_at INTEGER
                    );
                    """)
        }
        migrator.registerMigration("v2: enrichment staging for bulk reconcile plans") { db in
            try db.execute(
                sql: """
                    CREATE TABLE enrichment_staging (
                        run_id INTEGER NOT NULL,
                        user_id TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        payload_json TEXT NOT NULL
                    );
                    CREATE INDEX enrichment_staging_by_user ON enrichment_staging (run_id, user_id);
                    """)
        }
        migrator.registerMigration("v3: inbox attempts and failures, run owners, retention indexes") { db in
            try db.execute(
                sql: """
                    ALTER TABLE inbox_events ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE inbox_events ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE inbox_events ADD COLUMN last_error TEXT;
                    ALTER TABLE inbox_events ADD COLUMN failed_at INTEGER;
                    DROP INDEX inbox_pending;
                    CREATE INDEX inbox_pending ON inbox_events (connector, published, seq)
                        WHERE applied_at IS NULL AND failed_at IS NULL;
                    CREATE INDEX inbox_applied ON inbox_events (received_at) WHERE applied_at IS NOT NULL;
                    CREATE INDEX inbox_failed ON inbox_events (connector, failed_at) WHERE failed_at IS NOT NULL;
                    CREATE INDEX inbox_deliveries_received ON inbox_deliveries (received_at);
                    CREATE INDEX dead_letters_failed ON dead_letters (failed_at);
                    ALTER TABLE runs ADD COLUMN owner TEXT;
                    ALTER TABLE users ADD COLUMN okta_updated_at INTEGER;
                    CREATE INDEX runs_running ON runs (outcome) WHERE outcome = 'running';
                    """)
        }
        migrator.registerMigration("v4: run leases across processes") { db in
            try db.execute(
                sql: """
                    CREATE TABLE run_leases (
                        connector TEXT PRIMARY KEY,
                        holder TEXT NOT NULL,
                        acquired_at INTEGER NOT NULL,
                        expires_at INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v5: worker leases for several replicas") { db in
            try db.execute(
                sql: """
                    CREATE TABLE worker_leases (
                        connector TEXT PRIMARY KEY,
                        holder TEXT NOT NULL,
                        epoch INTEGER NOT NULL,
                        expires_at INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v6: system log polling cursor") { db in
            try db.execute(
                sql: """
                    CREATE TABLE system_log_cursors (
                        connector TEXT PRIMARY KEY,
                        next_url TEXT,
                        newest_published INTEGER,
                        newest_uuid TEXT,
                        last_poll_at INTEGER,
                        last_outcome TEXT,
                        last_succeeded_at INTEGER,
                        polled_events INTEGER NOT NULL DEFAULT 0,
                        missed_deliveries INTEGER NOT NULL DEFAULT 0
                    );
                    """)
        }
        migrator.registerMigration("v7: raw user digests") { db in
            // The digest of what a user's snapshot and record were made from, written by reconciles,
            // and the run that last found the user listed unchanged by it: a narrow table, so that
            // marking an unchanged user seen writes a few bytes, not the user's wide row (SPEC §6).
            try db.execute(
                sql: """
                    CREATE TABLE user_digests (
                        connector TEXT NOT NULL,
                        user_id TEXT NOT NULL,
                        raw_digest TEXT NOT NULL,
                        seen_run INTEGER,
                        PRIMARY KEY (connector, user_id)
                    ) WITHOUT ROWID;
                    -- Mark and sweep reads the index alone: the candidates' wide rows are not read.
                    DROP INDEX users_present;
                    CREATE INDEX users_present ON users (connector, removed_at, last_seen_run, updated_at, user_id);
                    """)
        }
        migrator.registerMigration("v8: user presence without the wide row, held removals") { db in
            // Whether a user is present, and the sweep's pages of present ids, answered from the
            // index: `removed_at` and `updated_at` come after the snapshot in a user's row, so
            // reading them from the row walks its overflow pages (kilobytes per user) — what an
            // unchanged reconcile spent most of its time on. A reconcile keeps the users it listed
            // in memory, not as a mark per user; a held run keeps what it would have removed.
            try db.execute(
                sql: """
                    CREATE INDEX users_presence ON users (connector, user_id, removed_at, updated_at);
                    CREATE TABLE held_removals (
                        connector TEXT NOT NULL,
                        run_id INTEGER NOT NULL,
                        user_id TEXT NOT NULL,
                        PRIMARY KEY (connector, run_id, user_id)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v9: whether a run's changes were forwarded") { db in
            // NULL: forwarded by `serve`'s forwarder, or a run from before this column.
            try db.execute(sql: "ALTER TABLE runs ADD COLUMN forwarded INTEGER")
        }
        migrator.registerMigration("v10: inbox events by arrival") { db in
            // The console's events per minute count what reached the inbox from either source
            // (deliveries and System Log polling), newest hour only: from this index.
            try db.execute(sql: "CREATE INDEX inbox_received ON inbox_events (connector, received_at)")
        }
        migrator.registerMigration("v11: Okta's last answer to the credentials") { db in
            try db.execute(
                sql: """
                    CREATE TABLE okta_contact (
                        connector TEXT PRIMARY KEY,
                        last_accepted_at INTEGER,
                        rejected_at INTEGER,
                        rejection TEXT
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v12: event hook events per hour, Okta's clock, LastLogon-only updates") { db in
            // Every replica adds its new deliveries' events to the hour they arrived in (SPEC §20).
            try db.execute(
                sql: """
                    CREATE TABLE hook_event_counts (
                        connector TEXT NOT NULL,
                        hour INTEGER NOT NULL,
                        events INTEGER NOT NULL,
                        PRIMARY KEY (connector, hour)
                    ) WITHOUT ROWID;
                    ALTER TABLE okta_contact ADD COLUMN clock_offset_ms INTEGER;
                    ALTER TABLE okta_contact ADD COLUMN clock_measured_at INTEGER;
                    ALTER TABLE okta_contact ADD COLUMN hook_warning TEXT;
                    ALTER TABLE runs ADD COLUMN last_logon_updates INTEGER NOT NULL DEFAULT 0;
                    """)
        }
        return migrator
    }
}
