import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OktaClient

// The admin API's JSON bodies (SPEC §11, docs/operations.md): `Codable` types whose shapes the
// docs, scripts and tests rely on. Absent optionals are left out, as before; keys are sorted.

/// `GET /api/status`.
struct StatusBody: ResponseEncodable {
    struct Connector: Encodable {
        var name: String
        var slug: String
        var server: String
        var active: Bool
        var oktaURL: String
        var userStatuses: [String]
        var schedule: String
        var hookPath: String
        var inboxDepth: Int
        var outboxDepth: Int
        var deadLetters: Int
        var failedEvents: Int
        var runs: [RunBody]
        var workerHolder: String?
        var eventSource: String
        var systemLog: SystemLogBody?
        var health: String?
        var healthReason: String?
        var nextDue: String?
        var lastDelivery: String?
        var outboxOldest: String?
        var rateLimitWait: String?
        var lastAcceptedOktaCall: String?
        var oktaCredentialProblem: String?
        /// The connector's share of Okta's daily event hook cap (SPEC §20).
        var hookEvents: HookEventBudget?
        /// Okta's clock minus this host's, in seconds, as last measured (SPEC §20).
        var oktaClockOffsetSeconds: Double?
        /// What the hook monitor found wrong with the connector's hooks in Okta, with the command.
        var hookWarning: String?
    }

    var generatedAt: String
    var connectors: [Connector]

    init(_ report: StatusReport) {
        generatedAt = Timestamp(report.generatedAt).iso8601
        connectors = report.connectors.map { connector in
            Connector(
                name: connector.name, slug: connector.slug, server: connector.server, active: connector.active,
                oktaURL: connector.oktaURL, userStatuses: connector.statuses, schedule: connector.schedule,
                hookPath: connector.hookPath, inboxDepth: connector.inboxDepth, outboxDepth: connector.outboxDepth,
                deadLetters: connector.deadLetters, failedEvents: connector.failedEvents,
                runs: connector.runs.prefix(10).map(RunBody.init), workerHolder: connector.workerHolder,
                eventSource: connector.eventSource,
                systemLog: connector.systemLog.map {
                    SystemLogBody($0, clock: connector.oktaClock, now: report.generatedAt)
                },
                health: connector.health?.state, healthReason: connector.health?.reason,
                nextDue: connector.nextDue?.iso8601, lastDelivery: connector.lastDelivery.map { Timestamp($0).iso8601 },
                outboxOldest: connector.outboxOldest?.iso8601, rateLimitWait: connector.rateLimitWait,
                lastAcceptedOktaCall: connector.oktaContact?.lastAcceptedAt?.iso8601,
                oktaCredentialProblem: connector.oktaContact?.rejection?.reason, hookEvents: connector.hookEvents,
                oktaClockOffsetSeconds: connector.oktaClock.map { ($0.seconds * 10).rounded() / 10 },
                hookWarning: connector.oktaContact?.hookWarning)
        }
    }
}

/// Where System Log polling stands: lag, last poll and its outcome, events only polling found.
struct SystemLogBody: Encodable {
    var polledEvents: Int64
    var missedDeliveries: Int64
    var newestPublished: String?
    var lagSeconds: Int64?
    var lastPollAt: String?
    var lastOutcome: String?
    var lastSucceededAt: String?

    /// - Parameter clock: Okta's clock offset: the lag is measured on this host's clock (SPEC §20).
    init(_ cursor: SystemLogCursor, clock: OktaClockOffset?, now: Date) {
        polledEvents = cursor.polledEvents
        missedDeliveries = cursor.missedDeliveries
        newestPublished = cursor.newestPublished?.iso8601
        lagSeconds = cursor.newestPublished.map { Int64(saturating: clock.age(of: $0, now: now).rounded()) }
        lastPollAt = cursor.lastPollAt?.iso8601
        lastOutcome = cursor.lastOutcome
        lastSucceededAt = cursor.lastSucceededAt?.iso8601
    }
}

/// One reconcile run (`GET /api/connectors/:name/runs`, and in the status).
struct RunBody: Encodable {
    var id: Int64
    var trigger: String
    var dryRun: Bool
    var startedAt: String
    var endedAt: String?
    var outcome: String
    var listed: Int
    var created: Int
    var updated: Int
    var unchanged: Int
    var removed: Int
    var drift: Int
    /// Updated users whose record changed in `User.LastLogon` alone: not drift (SPEC §20).
    var lastLogonUpdates: Int
    var rateLimited: Int
    var errors: [String]
    var oktaCalls: [String: Int]
    /// Whether a CLI `reconcile`'s changes reached the sink before it exited; absent for runs whose
    /// changes `serve`'s forwarder sends.
    var forwarded: Bool?

    init(_ run: RunRecord) {
        id = run.id
        trigger = run.trigger.rawValue
        dryRun = run.dryRun
        startedAt = run.startedAt.iso8601
        endedAt = run.endedAt?.iso8601
        outcome = run.outcome.rawValue
        listed = run.counts.listed
        created = run.counts.created
        updated = run.counts.updated
        unchanged = run.counts.unchanged
        removed = run.counts.removed
        drift = run.drift
        lastLogonUpdates = run.lastLogonUpdates
        rateLimited = run.rateLimited
        errors = run.errors
        oktaCalls = run.oktaCalls
        forwarded = run.forwarded
    }
}

/// A dead letter (`GET /api/connectors/:name/dead-letters`).
struct DeadLetterBody: Encodable {
    var id: Int64
    var userId: String
    var operation: String
    var version: Int64
    var reason: String
    var failedAt: String

    init(_ letter: DeadLetter) {
        id = letter.id
        userId = letter.userId
        operation = letter.operation.rawValue
        version = letter.version
        reason = letter.reason
        failedAt = letter.failedAt.iso8601
    }
}

/// A failed inbox event (`GET /api/connectors/:name/failed-events`).
struct FailedEventBody: Encodable {
    var id: Int64
    var eventType: String
    var userId: String?
    var attempts: Int
    var lastError: String
    var failedAt: String

    init(_ event: FailedInboxEvent) {
        id = event.seq
        eventType = event.eventType
        userId = event.subjectUserId
        attempts = event.attempts
        lastError = event.lastError
        failedAt = event.failedAt.iso8601
    }
}

/// The connector's event hooks as last read from Okta (`GET /api/connectors/:name/hooks`);
/// `checkedAt` is `null` until Okta first answered.
struct HooksBody: ResponseEncodable {
    struct Hook: Encodable {
        var id: String
        var status: String
        var verificationStatus: String
        var url: String
        var delivering: Bool
    }

    var checkedAt: String?
    var hooks: [Hook]
    var error: String?

    init(_ observation: EventHookMonitor.Observation?) {
        checkedAt = observation?.checkedAt.map { Timestamp($0).iso8601 }
        error = observation?.error
        hooks = (observation?.hooks ?? []).map { hook in
            Hook(
                id: hook.id ?? "", status: hook.status ?? "", verificationStatus: hook.verificationStatus ?? "",
                url: hook.channel.config.uri,
                delivering: hook.status == "ACTIVE" && hook.verificationStatus == "VERIFIED")
        }
    }

    func encode(to encoder: any Encoder) throws {
        enum Keys: String, CodingKey { case checkedAt, hooks, error }
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(checkedAt, forKey: .checkedAt)
        try container.encode(hooks, forKey: .hooks)
        try container.encodeIfPresent(error, forKey: .error)
    }
}

/// `{"status": "…"}`: what an action did.
struct StatusMessage: ResponseEncodable {
    var status: String
}

/// `{"error": "…"}`: why a request was refused (by the API, or by the admin token's check before it).
struct ErrorMessage: ResponseEncodable {
    var error: String
}

/// `POST …/users/:id/resync`.
struct ResyncBody: ResponseEncodable {
    var user: String
    var outcome: String
}

/// `POST …/resync-all`.
struct QueuedBody: ResponseEncodable {
    var queued: Int
}

/// `POST …/dead-letters/replay`.
struct ReplayedBody: ResponseEncodable {
    var replayed: Int
}

/// `POST …/failed-events/retry`.
struct RetriedBody: ResponseEncodable {
    var retried: Int
}
