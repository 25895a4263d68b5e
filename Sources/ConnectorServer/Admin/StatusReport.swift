import ConnectorConfiguration
public import ConnectorDomain
public import ConnectorEngine
public import ConnectorStore
public import Foundation

/// The status of every connector: what `/api/status`, the status page and `okta-connector status` show.
public struct StatusReport: Sendable {
    /// One connector's status.
    public struct Connector: Sendable {
        public var name: String
        public var slug: String
        public var server: String
        public var active: Bool
        public var oktaURL: String
        public var statuses: [String]
        public var schedule: String
        public var hookPath: String
        public var nextDue: Timestamp?
        public var lastDelivery: Date?
        public var inboxDepth: Int
        public var outboxDepth: Int
        public var outboxOldest: Timestamp?
        public var deadLetters: Int
        /// Inbox events that failed for good (replay with `okta-connector events retry`).
        public var failedEvents: Int
        public var runs: [RunRecord]
        /// The replica running the connector's worker parts now (`host pid incarnation`), if any holds
        /// a live worker lease.
        public var workerHolder: String?
        /// The connector's health, known only to the process running it (`nil` when read from the store alone).
        public var health: ConnectorHealth?
        /// `hooks`, `system_log` or `both` (SPEC §17).
        public var eventSource: String = "hooks"
        /// Where System Log polling stands, when the connector polls and has polled.
        public var systemLog: SystemLogCursor?
    }

    public var generatedAt: Date
    public var connectors: [Connector]

    /// Creates a report.
    public init(generatedAt: Date, connectors: [Connector]) {
        self.generatedAt = generatedAt
        self.connectors = connectors
    }

    static func make(_ view: AdminView) async throws -> StatusReport {
        var connectors: [Connector] = []
        for runtime in view.connectors {
            let settings = runtime.settings
            var status = try await connector(
                store: view.store, name: settings.name, slug: settings.slug, server: settings.server,
                active: settings.active, oktaURL: settings.okta.url.absoluteString,
                statuses: settings.userStatuses.map(\.rawValue), schedule: "\(settings.schedule)",
                hookPath: settings.eventHook.path, lastDelivery: view.receiver.lastDelivery(settings.slug),
                eventSource: settings.eventSource.rawValue, now: view.clock.now)
            status.health = runtime.health
            connectors.append(status)
        }
        return StatusReport(generatedAt: view.clock.now, connectors: connectors)
    }

    /// One connector's status read from the store.
    public static func connector(
        store: any StateStore, name: String, slug: String, server: String, active: Bool, oktaURL: String,
        statuses: [String], schedule: String, hookPath: String, lastDelivery: Date?, eventSource: String = "hooks",
        now: Date = Date()
    ) async throws -> Connector {
        let outbox = try await store.outboxStats(connector: slug)
        // Another process (the CLI) knows the newest delivery only from the store.
        let stored = try await store.latestDeliveryReceived(connector: slug)?.date
        let lastDelivery = [lastDelivery, stored].compactMap { $0 }.max()
        let lease = try await store.workerLease(connector: slug)
        var connector = Connector(
            name: name, slug: slug, server: server, active: active, oktaURL: oktaURL, statuses: statuses,
            schedule: schedule, hookPath: hookPath, nextDue: try await store.scheduleState(connector: slug)?.nextDueAt,
            lastDelivery: lastDelivery, inboxDepth: try await store.inboxDepth(connector: slug),
            outboxDepth: outbox.depth,
            outboxOldest: outbox.oldestCreatedAt,
            deadLetters: try await store.deadLetterCount(connector: slug),
            failedEvents: try await store.failedEventCount(connector: slug),
            runs: try await store.runs(connector: slug, limit: 30),
            workerHolder: lease.flatMap { $0.expiresAt.date > now ? $0.holder : nil }, health: nil)
        connector.eventSource = eventSource
        if eventSource != "hooks" { connector.systemLog = try await store.systemLogCursor(connector: slug) }
        return connector
    }

    /// The System Log polling state as JSON: lag, last poll and its outcome, events only polling found.
    static func systemLogJSON(_ cursor: SystemLogCursor, now: Date) -> JSONValue {
        var object: [String: JSONValue] = [
            "polledEvents": .integer(cursor.polledEvents), "missedDeliveries": .integer(cursor.missedDeliveries),
        ]
        if let newest = cursor.newestPublished {
            object["newestPublished"] = .string(newest.iso8601)
            object["lagSeconds"] = .double(max(0, now.timeIntervalSince(newest.date)).rounded())
        }
        if let at = cursor.lastPollAt { object["lastPollAt"] = .string(at.iso8601) }
        if let outcome = cursor.lastOutcome { object["lastOutcome"] = .string(outcome) }
        if let at = cursor.lastSucceededAt { object["lastSucceededAt"] = .string(at.iso8601) }
        return .object(object)
    }

    static func runJSON(_ run: RunRecord) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .integer(run.id), "trigger": .string(run.trigger.rawValue), "dryRun": .bool(run.dryRun),
            "startedAt": .string(run.startedAt.iso8601), "outcome": .string(run.outcome.rawValue),
            "listed": .integer(Int64(run.counts.listed)), "created": .integer(Int64(run.counts.created)),
            "updated": .integer(Int64(run.counts.updated)), "unchanged": .integer(Int64(run.counts.unchanged)),
            "removed": .integer(Int64(run.counts.removed)), "drift": .integer(Int64(run.drift)),
            "rateLimited": .integer(Int64(run.rateLimited)), "errors": .array(run.errors.map(JSONValue.string)),
            "oktaCalls": .object(run.oktaCalls.mapValues { .integer(Int64($0)) }),
        ]
        if let ended = run.endedAt { object["endedAt"] = .string(ended.iso8601) }
        if let forwarded = run.forwarded { object["forwarded"] = .bool(forwarded) }
        return .object(object)
    }

    /// The report as JSON.
    public var json: JSONValue {
        .object([
            "generatedAt": .string(Timestamp(generatedAt).iso8601),
            "connectors": .array(
                connectors.map { connector in
                    var object: [String: JSONValue] = [
                        "name": .string(connector.name), "slug": .string(connector.slug),
                        "server": .string(connector.server),
                        "active": .bool(connector.active), "oktaURL": .string(connector.oktaURL),
                        "userStatuses": .array(connector.statuses.map(JSONValue.string)),
                        "schedule": .string(connector.schedule), "hookPath": .string(connector.hookPath),
                        "inboxDepth": .integer(Int64(connector.inboxDepth)),
                        "outboxDepth": .integer(Int64(connector.outboxDepth)),
                        "deadLetters": .integer(Int64(connector.deadLetters)),
                        "failedEvents": .integer(Int64(connector.failedEvents)),
                        "runs": .array(connector.runs.prefix(10).map(StatusReport.runJSON)),
                    ]
                    if let holder = connector.workerHolder { object["workerHolder"] = .string(holder) }
                    object["eventSource"] = .string(connector.eventSource)
                    if let cursor = connector.systemLog {
                        object["systemLog"] = StatusReport.systemLogJSON(cursor, now: generatedAt)
                    }
                    if let health = connector.health {
                        object["health"] = .string(health.state)
                        if let reason = health.reason { object["healthReason"] = .string(reason) }
                    }
                    if let due = connector.nextDue { object["nextDue"] = .string(due.iso8601) }
                    if let last = connector.lastDelivery { object["lastDelivery"] = .string(Timestamp(last).iso8601) }
                    if let oldest = connector.outboxOldest { object["outboxOldest"] = .string(oldest.iso8601) }
                    return .object(object)
                }),
        ])
    }
}
