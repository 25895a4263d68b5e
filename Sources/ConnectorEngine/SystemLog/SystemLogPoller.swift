public import ConnectorConfiguration
public import ConnectorDomain
public import ConnectorStore
import Foundation
public import Logging
import Metrics
public import OktaClient
public import ServiceLifecycle
import Synchronization

/// How one poll ended.
public enum SystemLogPollOutcome: Sendable, Hashable {
    /// Every page up to the newest event was read and stored.
    case caughtUp(newEvents: Int)
    /// The newest events were left for their event hooks (`both`, within the hook grace): the
    /// page is read again at the next poll.
    case waitingForHooks(newEvents: Int)
    /// The poll stopped early: the page limit of one poll was reached, or the service is stopping.
    case interrupted(newEvents: Int)
    /// Nothing of the failing page was stored and the cursor did not move.
    case failed(reason: String, kind: FailureKind)

    /// What kind of failure, for the `result` label of the polls metric (a closed set).
    public enum FailureKind: String, Sendable, Hashable {
        /// Okta answered `429` past the client's waits.
        case rateLimited = "rate_limited"
        /// Okta's answer did not have the shape of a System Log page.
        case malformed
        /// Anything else: transport, `5xx` after retries, credentials, the store.
        case failed
    }
}

/// Polls Okta's System Log for the events of SPEC §5 and stores them in the connector's inbox
/// (SPEC §17), where the applier takes them exactly like event hook deliveries.
///
/// Okta's polling pattern: the first request has `since` and `sortOrder=ASCENDING` and no `until`;
/// every answer to such a request carries `Link: rel="next"` (even with no new event), and
/// following it is how the stream continues (Okta developer docs, "System Log API", Polling
/// requests; see ``OktaAPIClient/systemLogPollingURL(since:eventTypes:limit:)``). Each page's
/// events and the `next` link after it are stored in one transaction, so a restart resumes at the
/// first page not stored: nothing is lost, and a page read twice is deduplicated by event `uuid`.
/// Without a stored link (first start, or a link Okta refused) a poll starts `overlap` before the
/// newest event already read, because System Log data is eventually consistent.
///
/// With `both`, hooks give latency and polling fills the gaps: events younger than `hookGrace` are
/// left to their hook delivery (the page is read again at the next poll), so that an event polling
/// stores afterwards really is one Okta did not deliver — counted as a missed delivery.
///
/// Failure behaviour: a page that does not decode, lacks a `next` link or holds an event without
/// `uuid`, `eventType` or a valid `published` fails the poll, stores nothing of it and leaves the
/// cursor where it was (fails safe: never skips past events). Failures are logged, counted, shown
/// in status and health (degraded) and retried with capped backoff; `429`s wait for the bucket's
/// reset inside the client, within `rate_limit_share` of the `/api/v1/logs` bucket.
public final class SystemLogPoller: Service, Sendable {
    let connector: ConnectorSettings
    let store: any SystemLogCursorStore
    /// Okta's System Log (``OktaAPIClient``, or an in-memory directory in tests).
    let client: any OktaDirectory
    let clock: any WallClock
    let logger: Logger
    let health: ConnectorHealthBoard
    let pageSize: Int
    /// Pages one poll reads at most before it lets the interval pass (keeps a backlog stoppable).
    let maximumPagesPerPoll: Int
    let retry: RetryPolicy
    /// Told after events were stored (wakes the applier).
    let onStored: @Sendable () -> Void
    private let wakeUp = WakeSignal()
    private let lastOutcomeState = Mutex<SystemLogPollOutcome?>(nil)

    /// The event types asked for: those the applier acts on (SPEC §5), including the ones Okta
    /// records but cannot deliver through hooks.
    public static let eventTypes = OktaLogEvent.polledEventTypes

    /// Creates a poller.
    /// - Parameters:
    ///   - connector: The connector; its `system_log` settings give the interval, overlap and grace.
    ///   - store: Where the inbox and the cursor are.
    ///   - client: The connector's Okta client (its rate limiter holds the `/api/v1/logs` bucket).
    ///   - health: Where failures are reported.
    ///   - pageSize: Events per page (Okta's maximum is 1000).
    ///   - maximumPagesPerPoll: Pages one poll reads at most.
    ///   - retry: Backoff after failed polls.
    ///   - onStored: Told after events were stored.
    /// The worker lease this replica holds for the connector, when it runs under one (`serve`):
    /// every page stored carries it, so a replica that lost the connector never moves its cursor.
    let fence: WorkerFenceHolder?

    /// The fence for a write now.
    /// - Throws: ``StoreError/fenced(connector:epoch:)`` when this replica holds no lease;
    ///   `CancellationError` when this poller was cancelled (one left behind stuck in a call must
    ///   never move the cursor once it returns).
    func currentFence() throws -> WorkerFence? {
        try Task.checkCancellation()
        guard let fence else { return nil }
        guard let held = fence.current else { throw StoreError.fenced(connector: connector.slug, epoch: 0) }
        return held
    }

    public init(
        connector: ConnectorSettings, store: any SystemLogCursorStore, client: any OktaDirectory,
        clock: any WallClock,
        logger: Logger, health: ConnectorHealthBoard = ConnectorHealthBoard(), pageSize: Int = 1000,
        maximumPagesPerPoll: Int = 100, retry: RetryPolicy = RetryPolicy(initialDelay: 5, maximumDelay: 300),
        onStored: @escaping @Sendable () -> Void = {}, fence: WorkerFenceHolder? = nil
    ) {
        self.fence = fence
        self.connector = connector
        self.store = store
        self.client = client
        self.clock = clock
        var log = logger
        log[metadataKey: "connector"] = "\(connector.slug)"
        self.logger = log
        self.health = health
        self.pageSize = min(max(pageSize, 1), 1000)
        self.maximumPagesPerPoll = max(1, maximumPagesPerPoll)
        self.retry = retry
        self.onStored = onStored
    }

    /// How the last poll of this process ended.
    public var lastOutcome: SystemLogPollOutcome? { lastOutcomeState.withLock { $0 } }

    /// Asks for a poll now instead of at the end of the interval.
    public func pollSoon() { wakeUp.signal() }

    public func run() async throws {
        var failures = 0
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            // A poll waiting out a rate-limit reset ends at once on a graceful shutdown (each page
            // was stored with its link in one transaction: nothing is lost).
            let outcome = await cancelWhenGracefulShutdown { await self.poll() }
            let delay: TimeInterval
            switch outcome {
            case .failed:
                failures += 1
                delay = max(
                    connector.systemLog.interval, retry.delay(afterAttempt: failures, random: Double.random(in: 0..<1)))
            case .interrupted(let newEvents):
                failures = 0
                // More to read: at once, unless the pages brought nothing new (then a page read
                // over and over must not become a busy loop).
                delay = newEvents > 0 ? 0 : connector.systemLog.interval
            case .caughtUp, .waitingForHooks:
                failures = 0
                delay = connector.systemLog.interval
            }
            if Task.isCancelled || Task.isShuttingDownGracefully { return }
            if delay > 0 {
                _ = await cancelWhenGracefulShutdown {
                    await self.wakeUp.wait(until: self.clock.now.addingTimeInterval(delay), clock: self.clock)
                }
            }
        }
    }

    /// One poll: pages from the stored cursor until the newest event, each stored with the link
    /// after it. Never throws: the outcome says how it ended, and it is logged, counted and stored.
    @discardableResult
    public func poll() async -> SystemLogPollOutcome {
        let outcome: SystemLogPollOutcome
        do {
            outcome = try await pollPages()
        } catch  where Task.isCancelled || error is CancellationError {
            // Stopped (shutdown, or the lease lost): not a failure to report or store.
            return .interrupted(newEvents: 0)
        } catch {
            let kind: SystemLogPollOutcome.FailureKind
            switch error {
            case OktaError.rateLimited: kind = .rateLimited
            case OktaError.malformedResponse, OktaError.foreignLink, is SystemLogPageError: kind = .malformed
            default: kind = .failed
            }
            outcome = .failed(reason: "\(error)", kind: kind)
        }
        await record(outcome)
        return outcome
    }

    private func pollPages() async throws -> SystemLogPollOutcome {
        let slug = connector.slug
        let cursor = try await store.systemLogCursor(connector: slug)
        // Without a link to follow, start `overlap` before the newest event read (or before now).
        // (Never after now: one event dated in the future must not make the restart skip past events.)
        // "Now" on Okta's clock, which stamps the events (SPEC §20): with Okta two minutes behind, a
        // start from this host's now would skip two minutes of events. The offset comes from the
        // `Date` of Okta's answers; before the first, one cheap call measures it.
        if cursor?.nextURL == nil, client.clockOffset == nil { try? await client.probeCredentials() }
        let oktaNow = clock.now.addingTimeInterval(client.clockOffset ?? 0)
        let newest = min(cursor?.newestPublished?.date ?? oktaNow, oktaNow)
        let restartURL = client.systemLogPollingURL(
            since: Timestamp(newest.addingTimeInterval(-connector.systemLog.overlap)), eventTypes: Self.eventTypes,
            limit: pageSize)
        var url = cursor?.nextURL ?? restartURL
        var followsStoredLink = cursor?.nextURL != nil
        let wanted = Set(Self.eventTypes)
        let fillsGaps = connector.eventSource == .both
        var stored = 0
        for _ in 0..<maximumPagesPerPoll {
            if Task.isCancelled || Task.isShuttingDownGracefully { return .interrupted(newEvents: stored) }
            let page: SystemLogPage
            do {
                page = try await client.systemLogPage(url: url)
            } catch OktaError.apiError(_, 400, let body) where followsStoredLink {
                // Okta refused the stored link (too old, or from another org): start again from
                // the newest event read, minus the overlap; the dedupe absorbs what is read twice.
                logger.warning(
                    "Okta refused the stored System Log link; polling restarts from the newest event read",
                    metadata: ["okta_error": "\(body?.errorSummary ?? "400")"])
                followsStoredLink = false
                url = restartURL
                continue
            } catch OktaError.foreignLink where followsStoredLink {
                // The stored link names another host: the connector's Okta URL changed since it was
                // stored. Start again on the configured org rather than fail every poll.
                logger.warning(
                    "the stored System Log link is not on the configured Okta org (its URL changed); polling restarts from the newest event read"
                )
                followsStoredLink = false
                url = restartURL
                continue
            }
            followsStoredLink = false
            // Okta answers every polling request with a `next` link; without one this is not the
            // stream the cursor stands for, and following nothing would lose the position.
            guard let next = page.next else { throw SystemLogPageError.missingNextLink }
            var events: [InboxEvent] = []
            events.reserveCapacity(page.events.count)
            for (index, json) in page.events.enumerated() {
                let event: OktaLogEvent
                switch OktaLogEvent.read(json) {
                case .success(let read): event = read
                case .failure(let shape):
                    throw SystemLogPageError.malformedEvent(index: index, field: shape.field, reason: shape.reason)
                }
                // Okta applied the filter; anything else that slips through is not ours to store.
                guard wanted.contains(event.eventType) else { continue }
                events.append(
                    InboxEvent(
                        uuid: event.uuid, eventType: event.eventType, subjectUserId: event.subjectUserId,
                        published: event.published, payloadJSON: Self.inboxPayload(json)))
            }
            let now = clock.now
            // `published` is on Okta's clock: age events by the answer's `Date` where there is one,
            // so that a skewed local clock neither stalls nor rushes the grace.
            let oktaNow = page.oktaDate ?? now
            // An event dated beyond the grace ahead of Okta's clock is not young but wrong: it is
            // stored, so that it cannot hold the page back for ever.
            let grace = connector.systemLog.hookGrace
            if fillsGaps,
                let young = events.firstIndex(where: {
                    $0.published.date > oktaNow.addingTimeInterval(-grace)
                        && $0.published.date <= oktaNow.addingTimeInterval(grace)
                })
            {
                // Leave the newest events to their hooks: store the older ones, keep this page's
                // link so that the next poll reads it again.
                let older = Array(events[..<young])
                let new = try await store.storePolledEvents(
                    PolledEventPage(
                        connector: slug, events: older, nextURL: url, newEventsAreMissedDeliveries: true,
                        receivedAt: Timestamp(now), fence: try currentFence()))
                count(read: older.count, new: new.count, missed: true)
                stored += new.count
                if !new.isEmpty { onStored() }
                return .waitingForHooks(newEvents: stored)
            }
            let new = try await store.storePolledEvents(
                PolledEventPage(
                    connector: slug, events: events, nextURL: next, newEventsAreMissedDeliveries: fillsGaps,
                    receivedAt: Timestamp(now), fence: try currentFence()))
            count(read: events.count, new: new.count, missed: fillsGaps)
            stored += new.count
            if !new.isEmpty { onStored() }
            // A page shorter than asked for is the end of what Okta has persisted so far.
            if page.events.count < pageSize { return .caughtUp(newEvents: stored) }
            // A full page whose `next` is the link just read would be read again and again.
            guard next != url else { throw SystemLogPageError.repeatedNextLink }
            url = next
        }
        return .interrupted(newEvents: stored)
    }

    private func count(read: Int, new: Int, missed: Bool) {
        let slug = connector.slug
        Counter(label: "okta_connector_system_log_events_total", dimensions: [("connector", slug), ("kind", "new")])
            .increment(by: new)
        Counter(
            label: "okta_connector_system_log_events_total", dimensions: [("connector", slug), ("kind", "duplicate")]
        )
        .increment(by: read - new)
        if missed {
            Counter(
                label: "okta_connector_system_log_events_total",
                dimensions: [("connector", slug), ("kind", "missed_delivery")]
            )
            .increment(by: new)
        }
    }

    private func record(_ outcome: SystemLogPollOutcome) async {
        lastOutcomeState.withLock { $0 = outcome }
        let slug = connector.slug
        let result: String
        switch outcome {
        case .caughtUp(let new), .waitingForHooks(let new), .interrupted(let new):
            result = "ok"
            health.clear("system-log-poller")
            if new > 0 { logger.debug("System Log polled", metadata: ["new_events": "\(new)"]) }
        case .failed(let reason, let kind):
            result = kind.rawValue
            logger.error("System Log poll failed; retrying", metadata: ["error": "\(reason)"])
            health.report("system-log-poller", .degraded(reason: "System Log polling: \(reason)"))
            do {
                try await store.recordSystemLogPoll(
                    connector: slug, outcome: "failed: \(reason)", succeeded: false, at: Timestamp(clock.now))
            } catch {
                logger.error("could not record the poll's outcome in the store", metadata: ["error": "\(error)"])
            }
        }
        Counter(label: "okta_connector_system_log_polls_total", dimensions: [("connector", slug), ("result", result)])
            .increment()
    }

    /// What the applier reads of an event, as stored in the inbox: the keys it needs, as Okta sent them.
    static func inboxPayload(_ json: JSONValue) -> String {
        guard case .object(let object) = json else { return CanonicalJSON.string(json) }
        var kept: [String: JSONValue] = [:]
        for key in ["uuid", "eventType", "published", "actor", "target", "outcome"] {
            if let value = object[key] { kept[key] = value }
        }
        return CanonicalJSON.string(.object(kept))
    }
}

/// Why a System Log page was refused.
public enum SystemLogPageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A polling answer without `Link: rel="next"`.
    case missingNextLink
    /// An event without a required field.
    case malformedEvent(index: Int, field: String, reason: String)
    /// A full page whose `next` link is the link that was just read.
    case repeatedNextLink

    public var description: String {
        switch self {
        case .missingNextLink:
            return "Okta's System Log answer has no next link (a polling request always has one); the cursor is kept"
        case .malformedEvent(let index, let field, let reason):
            return "Okta's System Log page is malformed: event \(index) \(field): \(reason); nothing of it is stored"
        case .repeatedNextLink:
            return
                "Okta's System Log answered a full page whose next link is the same page; polling waits for the next interval"
        }
    }
}
