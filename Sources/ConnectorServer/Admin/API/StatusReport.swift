import ConnectorConfiguration
public import ConnectorDomain
public import ConnectorEngine
public import ConnectorStore
public import Foundation
import OktaClient

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
        /// The rate-limit wait the connector's Okta calls are in now (known only to the process
        /// running it): `waiting 41 s for Okta's users bucket to reset (…)`.
        public var rateLimitWait: String?
        /// When Okta last accepted the connector's credentials, the last refusal (SPEC §19), and
        /// Okta's clock offset (SPEC §20).
        public var oktaContact: OktaContact?
        /// The connector's share of Okta's daily event hook cap, when it takes hook deliveries.
        public var hookEvents: HookEventBudget?

        /// How far Okta's clock is from this host's, when measured.
        public var oktaClock: OktaClockOffset? { oktaContact?.clock }
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
                eventSource: settings.eventSource.rawValue,
                dailyBudget: settings.eventSource.takesHooks ? settings.eventHook.dailyBudget : nil,
                now: view.clock.now)
            status.health = runtime.health
            status.rateLimitWait = await runtime.operations.currentRateLimitWait()?.text(now: view.clock.now)
            connectors.append(status)
        }
        return StatusReport(generatedAt: view.clock.now, connectors: connectors)
    }

    /// One connector's status read from the store.
    public static func connector(
        store: any StateStore, name: String, slug: String, server: String, active: Bool, oktaURL: String,
        statuses: [String], schedule: String, hookPath: String, lastDelivery: Date?, eventSource: String = "hooks",
        dailyBudget: Int? = nil, now: Date = Date()
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
        connector.oktaContact = try await store.oktaContact(connector: slug)
        if eventSource != "hooks" { connector.systemLog = try await store.systemLogCursor(connector: slug) }
        if let dailyBudget {
            connector.hookEvents = try await store.hookEventBudget(connector: slug, budget: dailyBudget, now: now)
        }
        return connector
    }
}
