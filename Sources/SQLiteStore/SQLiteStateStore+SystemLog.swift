public import ConnectorDomain
public import ConnectorStore
internal import GRDB

extension SQLiteStateStore {
    public func systemLogCursor(connector: String) async throws -> SystemLogCursor? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM system_log_cursors WHERE connector = ?", arguments: [connector])
                .map { row in
                    func stamp(_ column: String) -> Timestamp? {
                        (row[column] as Int64?).map { Timestamp(millisecondsSinceEpoch: $0) }
                    }
                    return SystemLogCursor(
                        connector: row["connector"], nextURL: row["next_url"],
                        newestPublished: stamp("newest_published"),
                        newestUUID: row["newest_uuid"], lastPollAt: stamp("last_poll_at"),
                        lastOutcome: row["last_outcome"], lastSucceededAt: stamp("last_succeeded_at"),
                        polledEvents: row["polled_events"], missedDeliveries: row["missed_deliveries"])
                }
        }
    }

    public func storePolledEvents(_ page: PolledEventPage) async throws -> [String] {
        try await pool.write { db in
            try Self.check(page.fence, connector: page.connector, at: page.receivedAt, in: db)
            let insertEvent = try db.cachedStatement(
                sql: """
                    INSERT INTO inbox_events (connector, uuid, event_id, event_type, subject_user_id, published,
                        payload_json, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (connector, uuid) DO NOTHING
                    """)
            var new: [String] = []
            var newest: InboxEvent?
            for event in page.events {
                try insertEvent.execute(arguments: [
                    page.connector, event.uuid, PolledEventPage.eventId, event.eventType, event.subjectUserId,
                    event.published.millisecondsSinceEpoch, event.payloadJSON, page.receivedAt.millisecondsSinceEpoch,
                ])
                if db.changesCount == 1 { new.append(event.uuid) }
                if newest.map({ event.published > $0.published }) ?? true { newest = event }
            }
            let at = page.receivedAt.millisecondsSinceEpoch
            try db.execute(
                sql: """
                    INSERT INTO system_log_cursors (connector, next_url, newest_published, newest_uuid, last_poll_at,
                        last_outcome, last_succeeded_at, polled_events, missed_deliveries)
                    VALUES (?, ?, ?, ?, ?, 'ok', ?, ?, ?)
                    ON CONFLICT (connector) DO UPDATE SET
                        next_url = COALESCE(excluded.next_url, system_log_cursors.next_url),
                        newest_uuid = CASE WHEN excluded.newest_published > COALESCE(system_log_cursors.newest_published, -1)
                            THEN excluded.newest_uuid ELSE system_log_cursors.newest_uuid END,
                        newest_published = MAX(COALESCE(excluded.newest_published, -1),
                            COALESCE(system_log_cursors.newest_published, -1)),
                        last_poll_at = excluded.last_poll_at, last_outcome = 'ok',
                        last_succeeded_at = excluded.last_succeeded_at,
                        polled_events = system_log_cursors.polled_events + excluded.polled_events,
                        missed_deliveries = system_log_cursors.missed_deliveries + excluded.missed_deliveries
                    """,
                arguments: [
                    page.connector, page.nextURL, newest?.published.millisecondsSinceEpoch, newest?.uuid, at, at,
                    new.count, page.newEventsAreMissedDeliveries ? new.count : 0,
                ])
            // `-1` stands for "none yet" in the MAX above; keep it NULL.
            try db.execute(
                sql:
                    "UPDATE system_log_cursors SET newest_published = NULL WHERE connector = ? AND newest_published < 0",
                arguments: [page.connector])
            return new
        }
    }

    public func recordSystemLogPoll(connector: String, outcome: String, succeeded: Bool, at: Timestamp) async throws {
        let succeededAt: Int64? = succeeded ? at.millisecondsSinceEpoch : nil
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO system_log_cursors (connector, last_poll_at, last_outcome, last_succeeded_at)
                    VALUES (?, ?, ?, ?)
                    ON CONFLICT (connector) DO UPDATE SET last_poll_at = excluded.last_poll_at,
                        last_outcome = excluded.last_outcome,
                        last_succeeded_at = COALESCE(excluded.last_succeeded_at, system_log_cursors.last_succeeded_at)
                    """,
                arguments: [connector, at.millisecondsSinceEpoch, outcome, succeededAt])
        }
    }
}

extension SQLiteStateStore {
    public func oktaContact(connector: String) async throws -> OktaContact? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM okta_contact WHERE connector = ?", arguments: [connector]).map {
                row in
                let rejectedAt = (row["rejected_at"] as Int64?).map { Timestamp(millisecondsSinceEpoch: $0) }
                let offset = (row["clock_offset_ms"] as Int64?).flatMap { offset in
                    (row["clock_measured_at"] as Int64?).map {
                        OktaClockOffset(
                            seconds: Double(offset) / 1000, measuredAt: Timestamp(millisecondsSinceEpoch: $0))
                    }
                }
                return OktaContact(
                    lastAcceptedAt: (row["last_accepted_at"] as Int64?).map { Timestamp(millisecondsSinceEpoch: $0) },
                    rejection: rejectedAt.map { OktaRejection(at: $0, reason: row["rejection"] ?? "") },
                    clock: offset, hookWarning: row["hook_warning"])
            }
        }
    }

    public func recordOktaContact(connector: String, acceptedAt: Timestamp?, rejection: OktaRejection?) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO okta_contact (connector, last_accepted_at, rejected_at, rejection) VALUES (?, ?, ?, ?)
                    ON CONFLICT (connector) DO UPDATE SET
                        last_accepted_at = MAX(COALESCE(excluded.last_accepted_at, 0), COALESCE(last_accepted_at, 0)),
                        rejected_at = COALESCE(excluded.rejected_at, rejected_at),
                        rejection = COALESCE(excluded.rejection, rejection)
                    """,
                arguments: [
                    connector, acceptedAt?.millisecondsSinceEpoch, rejection?.at.millisecondsSinceEpoch,
                    rejection?.reason,
                ])
            // An accepted call after the rejection clears it.
            try db.execute(
                sql: """
                    UPDATE okta_contact SET rejected_at = NULL, rejection = NULL
                    WHERE connector = ? AND rejected_at IS NOT NULL AND last_accepted_at > rejected_at
                    """, arguments: [connector])
            try db.execute(
                sql: "UPDATE okta_contact SET last_accepted_at = NULL WHERE connector = ? AND last_accepted_at = 0",
                arguments: [connector])
        }
    }

    public func recordOktaClock(connector: String, offset: OktaClockOffset) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO okta_contact (connector, clock_offset_ms, clock_measured_at) VALUES (?, ?, ?)
                    ON CONFLICT (connector) DO UPDATE SET
                        clock_offset_ms = excluded.clock_offset_ms, clock_measured_at = excluded.clock_measured_at
                    WHERE COALESCE(okta_contact.clock_measured_at, 0) <= excluded.clock_measured_at
                    """,
                arguments: [
                    connector, Int64((offset.seconds * 1000).rounded()), offset.measuredAt.millisecondsSinceEpoch,
                ])
        }
    }

    public func recordHookWarning(connector: String, warning: String?) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO okta_contact (connector, hook_warning) VALUES (?, ?)
                    ON CONFLICT (connector) DO UPDATE SET hook_warning = excluded.hook_warning
                    """, arguments: [connector, warning])
        }
    }
}
