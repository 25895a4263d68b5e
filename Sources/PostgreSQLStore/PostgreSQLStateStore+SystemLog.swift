public import ConnectorDomain
public import ConnectorStore
import PostgresNIO

extension PostgreSQLStateStore {
    public func systemLogCursor(connector: String) async throws -> SystemLogCursor? {
        let rows = try await rows(
            """
            SELECT connector, next_url, newest_published, newest_uuid, last_poll_at, last_outcome, last_succeeded_at,
                polled_events, missed_deliveries
            FROM system_log_cursors WHERE connector = \(connector)
            """)
        guard let row = rows.first else { return nil }
        func stamp(_ column: String) throws -> Timestamp? {
            try row[column].decode(Int64?.self).map { Timestamp(millisecondsSinceEpoch: $0) }
        }
        return SystemLogCursor(
            connector: try row["connector"].decode(String.self), nextURL: try row["next_url"].decode(String?.self),
            newestPublished: try stamp("newest_published"), newestUUID: try row["newest_uuid"].decode(String?.self),
            lastPollAt: try stamp("last_poll_at"), lastOutcome: try row["last_outcome"].decode(String?.self),
            lastSucceededAt: try stamp("last_succeeded_at"), polledEvents: try row["polled_events"].decode(Int64.self),
            missedDeliveries: try row["missed_deliveries"].decode(Int64.self))
    }

    public func storePolledEvents(_ page: PolledEventPage) async throws -> [String] {
        let logger = logger
        return try await transaction { connection in
            try await Self.check(
                page.fence, connector: page.connector, at: page.receivedAt, on: connection, logger: logger)
            let events = page.events
            var new: [String] = []
            if !events.isEmpty {
                let rows = try await connection.query(
                    """
                    INSERT INTO inbox_events (connector, uuid, event_id, event_type, subject_user_id, published, payload_json,
                        received_at)
                    SELECT \(page.connector), e.uuid, \(PolledEventPage.eventId), e.type, NULLIF(e.subject, ''), e.published,
                        e.payload, \(page.receivedAt.millisecondsSinceEpoch)
                    FROM unnest(\(events.map(\.uuid))::text[], \(events.map(\.eventType))::text[],
                        \(events.map { $0.subjectUserId ?? "" })::text[], \(events.map(\.published.millisecondsSinceEpoch))::bigint[],
                        \(events.map(\.payloadJSON))::text[]) WITH ORDINALITY AS e(uuid, type, subject, published, payload, position)
                    ORDER BY e.position
                    ON CONFLICT (connector, uuid) DO NOTHING RETURNING uuid
                    """, logger: logger)
                for try await uuid in rows.decode(String.self) { new.append(uuid) }
            }
            let newest = events.max { $0.published < $1.published }
            let at = page.receivedAt.millisecondsSinceEpoch
            let missed = page.newEventsAreMissedDeliveries ? new.count : 0
            try await connection.query(
                """
                INSERT INTO system_log_cursors (connector, next_url, newest_published, newest_uuid, last_poll_at,
                    last_outcome, last_succeeded_at, polled_events, missed_deliveries)
                VALUES (\(page.connector), \(page.nextURL), \(newest?.published.millisecondsSinceEpoch), \(newest?.uuid),
                    \(at), 'ok', \(at), \(Int64(new.count)), \(Int64(missed)))
                ON CONFLICT (connector) DO UPDATE SET
                    next_url = COALESCE(excluded.next_url, system_log_cursors.next_url),
                    newest_uuid = CASE WHEN excluded.newest_published > COALESCE(system_log_cursors.newest_published, -1)
                        THEN excluded.newest_uuid ELSE system_log_cursors.newest_uuid END,
                    newest_published = NULLIF(GREATEST(COALESCE(excluded.newest_published, -1),
                        COALESCE(system_log_cursors.newest_published, -1)), -1),
                    last_poll_at = excluded.last_poll_at, last_outcome = 'ok',
                    last_succeeded_at = excluded.last_succeeded_at,
                    polled_events = system_log_cursors.polled_events + excluded.polled_events,
                    missed_deliveries = system_log_cursors.missed_deliveries + excluded.missed_deliveries
                """, logger: logger)
            return new
        }
    }

    public func recordSystemLogPoll(connector: String, outcome: String, succeeded: Bool, at: Timestamp) async throws {
        let succeededAt: Int64? = succeeded ? at.millisecondsSinceEpoch : nil
        try await client.query(
            """
            INSERT INTO system_log_cursors (connector, last_poll_at, last_outcome, last_succeeded_at)
            VALUES (\(connector), \(at.millisecondsSinceEpoch), \(outcome),
                \(succeededAt))
            ON CONFLICT (connector) DO UPDATE SET last_poll_at = excluded.last_poll_at,
                last_outcome = excluded.last_outcome,
                last_succeeded_at = COALESCE(excluded.last_succeeded_at, system_log_cursors.last_succeeded_at)
            """, logger: logger)
    }
}

extension PostgreSQLStateStore {
    public func oktaContact(connector: String) async throws -> OktaContact? {
        for try await (accepted, rejectedAt, rejection, offset, measuredAt, hookWarning) in try await client.query(
            """
            SELECT last_accepted_at, rejected_at, rejection, clock_offset_ms, clock_measured_at, hook_warning
            FROM okta_contact WHERE connector = \(connector)
            """,
            logger: logger
        ).decode((Int64?, Int64?, String?, Int64?, Int64?, String?).self) {
            return OktaContact(
                lastAcceptedAt: accepted.map { Timestamp(millisecondsSinceEpoch: $0) },
                rejection: rejectedAt.map {
                    OktaRejection(at: Timestamp(millisecondsSinceEpoch: $0), reason: rejection ?? "")
                },
                clock: offset.flatMap { offset in
                    measuredAt.map {
                        OktaClockOffset(
                            seconds: Double(offset) / 1000, measuredAt: Timestamp(millisecondsSinceEpoch: $0))
                    }
                }, hookWarning: hookWarning)
        }
        return nil
    }

    public func recordOktaContact(connector: String, acceptedAt: Timestamp?, rejection: OktaRejection?) async throws {
        let accepted = acceptedAt?.millisecondsSinceEpoch
        let rejectedAt = rejection?.at.millisecondsSinceEpoch
        let reason = rejection?.reason
        // One statement: the newest acceptance kept; a rejection older than it cleared.
        try await client.query(
            """
            INSERT INTO okta_contact AS c (connector, last_accepted_at, rejected_at, rejection)
            VALUES (\(connector), \(accepted), \(rejectedAt), \(reason))
            ON CONFLICT (connector) DO UPDATE SET
                last_accepted_at = GREATEST(excluded.last_accepted_at, c.last_accepted_at),
                rejected_at = CASE
                    WHEN COALESCE(excluded.rejected_at, c.rejected_at)
                        < GREATEST(excluded.last_accepted_at, c.last_accepted_at) THEN NULL
                    ELSE COALESCE(excluded.rejected_at, c.rejected_at) END,
                rejection = CASE
                    WHEN COALESCE(excluded.rejected_at, c.rejected_at)
                        < GREATEST(excluded.last_accepted_at, c.last_accepted_at) THEN NULL
                    ELSE COALESCE(excluded.rejection, c.rejection) END
            """, logger: logger)
    }

    public func recordOktaClock(connector: String, offset: OktaClockOffset) async throws {
        let milliseconds = Int64((offset.seconds * 1000).rounded())
        try await client.query(
            """
            INSERT INTO okta_contact AS c (connector, clock_offset_ms, clock_measured_at)
            VALUES (\(connector), \(milliseconds), \(offset.measuredAt.millisecondsSinceEpoch))
            ON CONFLICT (connector) DO UPDATE SET
                clock_offset_ms = excluded.clock_offset_ms, clock_measured_at = excluded.clock_measured_at
            WHERE COALESCE(c.clock_measured_at, 0) <= excluded.clock_measured_at
            """, logger: logger)
    }

    public func recordHookWarning(connector: String, warning: String?) async throws {
        try await client.query(
            """
            INSERT INTO okta_contact AS c (connector, hook_warning) VALUES (\(connector), \(warning))
            ON CONFLICT (connector) DO UPDATE SET hook_warning = excluded.hook_warning
            """, logger: logger)
    }
}
