public import ConnectorConfiguration
public import ConnectorDomain
public import ConnectorStore
public import Foundation
public import Logging
import Metrics
public import OktaClient
public import ServiceLifecycle
import Synchronization

/// What the applier did, for metrics and tests.
public struct ApplierCounts: Sendable, Hashable {
    /// Events applied by type (including those that changed nothing).
    public var eventsByType: [String: Int] = [:]
    /// Events of types the connector does not act on: kept in the inbox, counted, ignored.
    public var unknownTypes = 0
    /// Events whose `outcome.result` was not `SUCCESS`.
    public var notSuccessful = 0
    /// Users read again from Okta.
    public var refreshes = 0
    /// Records queued for the sink.
    public var queued = 0
    /// Users removed downstream.
    public var removed = 0
    /// Events left for a later attempt because Okta could not be read (retryable errors).
    public var deferred = 0
    /// Events held back without counting an attempt while Okta rejected the credentials.
    public var held = 0
    /// Events that failed for good (a non-retryable answer, or too many attempts).
    public var failed = 0
}

/// Applies the inbox to user state (SPEC §5): in `published` order per user, idempotently, the
/// effect table of ``OktaLogEvent/interpretation``. Login events move `lastLogin` forward without an
/// Okta call; other events refresh the parts of the user they concern from Okta, coalesced per user
/// over a short window and bounded in concurrency, sharing the connector's rate limiter. The state
/// change, its outbox entry and the events' applied marks are one transaction, so a crash between
/// any two steps re-applies safely.
///
/// Failure behaviour: an event whose refresh fails with a retryable error (5xx, timeouts, rate
/// limits) is tried again after a growing backoff; a non-retryable answer, or too many attempts,
/// marks it `failed` (visible, counted, replayable) so it never blocks newer events. While Okta
/// rejects the credentials (``OktaCredentialPause``) events that need Okta are held, without
/// counting attempts, until the next probe. Store errors are logged and retried with backoff.
/// A pass that makes no progress waits for the next due event or a delivery, never spins.
///
/// A wake-up from this process's receiver is only a shortcut: the applier also looks at the inbox
/// every `idleWait` (1 s) on its own, because rows arrive that nobody here announces — stored by
/// another replica's receiver, or by a commit that finished after the receiver had already answered
/// `503` (a database outage), whose re-delivery is then only a duplicate.
public final class EventApplier: Service, Sendable {
    let connector: ConnectorSettings
    let store: any StateStore
    /// Okta, as the applier reads it (``OktaAPIClient``, or an in-memory directory in tests).
    let client: any OktaDirectory
    let clock: any WallClock
    let logger: Logger
    let coalescingWindow: TimeInterval
    let refreshConcurrency: Int
    /// Attempts before an event whose refresh keeps failing is marked failed.
    let maximumAttempts: Int
    /// Backoff between attempts of one event.
    let retry: RetryPolicy
    let health: ConnectorHealthBoard
    /// The worker lease its writes rely on, when replicas share the store.
    let fence: WorkerFenceHolder?
    /// The longest wait between two looks at the inbox when nothing announced new events.
    let idleWait: TimeInterval
    private let wakeUp = WakeSignal()
    private let countsState = Mutex(ApplierCounts())
    /// `user_scope.groups` resolved, and when: resolved again after an hour (a renamed group).
    private let resolvedScope = Mutex<(scope: GroupScope, at: Date)?>(nil)

    /// Creates an applier.
    /// - Parameters:
    ///   - client: Where users are read again (the connector's ``OktaAPIClient``).
    ///   - coalescingWindow: How long to gather events after the first arrives, so that many events
    ///     for one user cost one refresh.
    ///   - refreshConcurrency: Okta refreshes in flight at most.
    ///   - maximumAttempts: Attempts before an event whose refresh keeps failing is marked failed.
    ///   - retry: Backoff between attempts of one event (store errors use ``RetryPolicy/storeOutage``).
    ///   - health: Where the applier reports trouble.
    ///   - fence: The worker lease its writes must carry (`nil`: unfenced, one process).
    ///   - idleWait: The longest wait between two looks at the inbox without a wake-up.
    public init(
        connector: ConnectorSettings, store: any StateStore, client: any OktaDirectory, clock: any WallClock,
        logger: Logger,
        coalescingWindow: TimeInterval = 0.2, refreshConcurrency: Int = 8, maximumAttempts: Int = 8,
        retry: RetryPolicy = RetryPolicy(initialDelay: 5, maximumDelay: 900),
        health: ConnectorHealthBoard = ConnectorHealthBoard(), fence: WorkerFenceHolder? = nil,
        idleWait: TimeInterval = 1
    ) {
        self.connector = connector
        self.store = store
        self.client = client
        self.clock = clock
        var log = logger
        log[metadataKey: "connector"] = "\(connector.slug)"
        self.logger = log
        self.coalescingWindow = coalescingWindow
        self.refreshConcurrency = refreshConcurrency
        self.maximumAttempts = max(1, maximumAttempts)
        self.retry = retry
        self.health = health
        self.fence = fence
        self.idleWait = max(0.05, idleWait)
    }

    /// The fencing token for a write now; throws when this replica lost the lease, or when this
    /// applier was cancelled (one left behind stuck in a call must never write once it returns,
    /// even after this replica took the lease again under the same fence).
    func currentFence() throws -> WorkerFence? {
        try Task.checkCancellation()
        guard let fence else { return nil }
        guard let current = fence.current else { throw StoreError.fenced(connector: connector.slug, epoch: 0) }
        return current
    }

    /// What was applied so far.
    public var counts: ApplierCounts { countsState.withLock { $0 } }

    /// Tells the applier that new events are in the inbox.
    public func wake() { wakeUp.signal() }

    public func run() async throws {
        var storeFailures = 0
        // Events left by a previous process (crash or restart) are applied first.
        var woken = true
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            if woken, coalescingWindow > 0 {
                try? await cancelWhenGracefulShutdown {
                    try await self.clock.sleep(until: self.clock.now.addingTimeInterval(self.coalescingWindow))
                }
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
            }
            let nextDue: Timestamp?
            do {
                // A stop does not wait for an Okta read that retries against an unreachable or slow
                // Okta: the read is cancelled, nothing of it is written, and the events stay in the
                // inbox for the next start (each batch is committed whole or not at all).
                try await cancelWhenGracefulShutdown {
                    while try await self.applyPending() > 0, !Task.isCancelled, !Task.isShuttingDownGracefully {}
                }
                nextDue = try await store.nextPendingEventDue(connector: connector.slug)
                if storeFailures > 0 {
                    logger.notice("the store answers again: applying events resumes")
                    health.clear("applier")
                }
                storeFailures = 0
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                storeFailures += 1
                let delay = RetryPolicy.storeOutage.delay(
                    afterAttempt: storeFailures, random: Double.random(in: 0..<1))
                logger.error(
                    "applying events failed; retrying",
                    metadata: ["error": "\(error)", "retry_in_seconds": "\(Int(delay.rounded(.up)))"])
                health.report("applier", .degraded(reason: "store error: \(error)"))
                await wakeUp.wait(until: clock.now.addingTimeInterval(delay), clock: clock)
                woken = false
                continue
            }
            // Nothing due now: wait for a delivery, the next due event or the next look, never spin.
            let now = clock.now
            let look = now.addingTimeInterval(idleWait)
            let deadline = nextDue.map { min(look, max($0.date, now.addingTimeInterval(0.05))) } ?? look
            woken = await cancelWhenGracefulShutdown {
                await self.wakeUp.wait(until: deadline, clock: self.clock)
            }
        }
    }

    /// The combined effect of a user's pending events, in `published` order.
    struct UserWork {
        var seqs: [Int64] = []
        var lastLoginAt: Timestamp?
        var passwordChangedAt: Timestamp?
        var refresh: Set<EventEffect.Refresh> = []
        var remove = false
        var types: [String] = []
    }

    /// Applies up to `limit` pending events that are due.
    /// - Returns: How many events were taken (applied, ignored, set back or failed).
    @discardableResult
    public func applyPending(limit: Int = 1000) async throws -> Int {
        let now = clock.now
        let pending = try await store.pendingEvents(connector: connector.slug, limit: limit, dueAt: Timestamp(now))
        guard !pending.isEmpty else { return 0 }
        var ignored: [Int64] = []
        var work: [String: UserWork] = [:]
        var attempts: [String: Int] = [:]
        var order: [String] = []
        for item in pending {
            let event: OktaLogEvent
            switch OktaLogEvent.read((try? JSONCoding.decode(JSONValue.self, from: item.event.payloadJSON)) ?? .null) {
            case .success(let decoded): event = decoded
            case .failure:
                ignored.append(item.seq)
                continue
            }
            switch event.interpretation {
            case .unknownType, .noSubjectUser:
                countsState.withLock { $0.unknownTypes += 1 }
                countIgnored("unknown_type")
                ignored.append(item.seq)
            case .notSuccessful:
                countsState.withLock { $0.notSuccessful += 1 }
                countIgnored("not_successful")
                ignored.append(item.seq)
            case .apply(let userId, let effect):
                if work[userId] == nil { order.append(userId) }
                var user = work[userId] ?? UserWork()
                user.seqs.append(item.seq)
                user.types.append(event.eventType)
                attempts[userId] = max(attempts[userId] ?? 0, item.attempts)
                if let at = effect.lastLoginAt { user.lastLoginAt = max(user.lastLoginAt ?? at, at) }
                if let at = effect.passwordChangedAt { user.passwordChangedAt = max(user.passwordChangedAt ?? at, at) }
                // A delete event is a claim: it asks for a read like the others, and the read decides
                // (a 404 or an unselected status removes; SPEC §20).
                if effect.remove { user.remove = true }
                user.refresh.formUnion(effect.refresh)
                work[userId] = user
            }
        }

        // Decide each user's change, a few Okta refreshes at a time.
        var changes: [(String, UserChange?, [Int64])] = []
        var setbacks: [InboxSetback] = []
        try await withThrowingTaskGroup(of: (String, Result<UserChange?, ReadFailure>).self) { group in
            var iterator = order.makeIterator()
            func add(_ userId: String) {
                let item = work[userId]!
                group.addTask { [self] in
                    do {
                        return (userId, .success(try await self.change(for: userId, work: item)))
                    } catch let error as OktaError {
                        return (userId, .failure(.okta(error)))
                    } catch let problem as GroupScope.Problem {
                        return (userId, .failure(.scope(problem)))
                    }
                }
            }
            for _ in 0..<max(1, refreshConcurrency) { if let next = iterator.next() { add(next) } }
            while let (userId, result) = try await group.next() {
                let seqs = work[userId]!.seqs
                switch result {
                case .success(let change): changes.append((userId, change, seqs))
                case .failure(.okta(let error)):
                    setbacks.append(setback(for: error, seqs: seqs, attempts: attempts[userId] ?? 0, userId: userId))
                case .failure(.scope(let problem)):
                    // A configuration problem, not the events': held (no attempt counted) until a
                    // reload fixes user_scope.groups or the group is back, looked at every 5 minutes.
                    logger.error(
                        "user_scope.groups does not resolve; the user's events are held",
                        metadata: ["user": "\(userId)", "error": "\(problem)"])
                    setbacks.append(
                        InboxSetback(
                            seqs: seqs, error: "\(problem)",
                            disposition: .retry(
                                at: Timestamp(clock.now.addingTimeInterval(300)), countsAsAttempt: false)))
                }
                if let next = iterator.next() { add(next) }
            }
        }
        if client.pause.current == nil {
            // A probe in this pass found the credentials accepted again: what was held waits no longer.
            setbacks = setbacks.map { setback in
                guard case .retry(_, false) = setback.disposition else { return setback }
                return InboxSetback(
                    seqs: setback.seqs, error: setback.error,
                    disposition: .retry(at: Timestamp(now), countsAsAttempt: false))
            }
        }
        let applied = changes.flatMap(\.2) + ignored
        let userChanges = changes.compactMap(\.1)
        let outcomes = try await store.commit(
            UserWriteBatch(
                connector: connector.slug, changes: userChanges, appliedInboxEvents: applied, at: Timestamp(clock.now),
                fence: try currentFence()))
        try await store.setBack(connector: connector.slug, setbacks, at: Timestamp(clock.now))
        record(changes: changes, work: work, setbacks: setbacks)
        countsState.withLock { counts in
            for (userId, _, seqs) in changes where !seqs.isEmpty {
                for type in work[userId]?.types ?? [] { counts.eventsByType[type, default: 0] += 1 }
            }
            counts.queued += outcomes.filter(\.queued).count
            counts.removed += outcomes.filter { if case .removed = $0 { true } else { false } }.count
            for setback in setbacks {
                switch setback.disposition {
                case .fail: counts.failed += setback.seqs.count
                case .retry(_, true): counts.deferred += setback.seqs.count
                case .retry(_, false): counts.held += setback.seqs.count
                }
            }
        }
        return pending.count
    }

    private func countIgnored(_ reason: String) {
        Counter(
            label: "okta_connector_events_ignored_total",
            dimensions: [("connector", connector.slug), ("reason", reason)]
        )
        .increment()
    }

    /// Records a pass's metrics where it happens, with labels from bounded sets.
    private func record(
        changes: [(String, UserChange?, [Int64])], work: [String: UserWork], setbacks: [InboxSetback]
    ) {
        let slug = connector.slug
        var byType: [String: Int] = [:]
        for (userId, _, seqs) in changes where !seqs.isEmpty {
            for type in work[userId]?.types ?? [] { byType[OktaLogEvent.metricLabel(forType: type), default: 0] += 1 }
        }
        for (type, count) in byType {
            Counter(label: "okta_connector_events_applied_total", dimensions: [("connector", slug), ("type", type)])
                .increment(by: count)
        }
        for setback in setbacks {
            let outcome: String
            switch setback.disposition {
            case .fail: outcome = "failed"
            case .retry(_, true): outcome = "retried"
            case .retry(_, false): outcome = "held"
            }
            Counter(
                label: "okta_connector_events_set_back_total", dimensions: [("connector", slug), ("outcome", outcome)]
            )
            .increment(by: setback.seqs.count)
        }
    }

    /// Why a user's change could not be decided.
    enum ReadFailure: Error {
        case okta(OktaError)
        case scope(GroupScope.Problem)
    }

    /// What happens to a user's events when reading Okta failed: held without an attempt while Okta
    /// rejects the credentials; retried with backoff for retryable errors until `maximumAttempts`;
    /// failed at once for answers a retry cannot fix.
    public func setback(for error: OktaError, seqs: [Int64], attempts: Int, userId: String) -> InboxSetback {
        let now = clock.now
        switch error {
        case .credentialsRejected(_, let probe):
            // Not the events' fault: hold them until the next probe, no attempt counted.
            return InboxSetback(
                seqs: seqs, error: "\(error)", disposition: .retry(at: Timestamp(probe), countsAsAttempt: false))
        case .invalidCredentials, .missingPermission, .tokenRequestFailed:
            let probe = client.pause.current?.nextProbeAt ?? now.addingTimeInterval(60)
            return InboxSetback(
                seqs: seqs, error: "\(error)", disposition: .retry(at: Timestamp(probe), countsAsAttempt: false))
        case .rateLimited, .transport:
            return retryOrFail(error, seqs: seqs, attempts: attempts, userId: userId)
        case .apiError(_, let status, _) where status == 408 || status == 429 || status >= 500:
            return retryOrFail(error, seqs: seqs, attempts: attempts, userId: userId)
        case .apiError, .malformedResponse, .repeatedCursor, .foreignLink, .notFound:
            logger.error(
                "Okta's answer for the user cannot be applied; its events are marked failed",
                metadata: ["user": "\(userId)", "events": "\(seqs.count)", "error": "\(error)"])
            return InboxSetback(seqs: seqs, error: "\(error)", disposition: .fail)
        }
    }

    private func retryOrFail(_ error: OktaError, seqs: [Int64], attempts: Int, userId: String) -> InboxSetback {
        let attempt = attempts + 1
        guard attempt < maximumAttempts else {
            logger.error(
                "the user could not be read from Okta after every attempt; its events are marked failed",
                metadata: ["user": "\(userId)", "attempts": "\(attempt)", "error": "\(error)"])
            return InboxSetback(seqs: seqs, error: "\(error)", disposition: .fail)
        }
        let delay = retry.delay(afterAttempt: attempt, random: Double.random(in: 0..<1))
        logger.warning(
            "could not read the user from Okta; its events are tried again later",
            metadata: [
                "user": "\(userId)", "attempt": "\(attempt)", "retry_in_seconds": "\(Int(delay.rounded(.up)))",
                "error": "\(error)",
            ])
        return InboxSetback(
            seqs: seqs, error: "\(error)",
            disposition: .retry(at: Timestamp(clock.now.addingTimeInterval(delay)), countsAsAttempt: true))
    }

    /// Reads one user again from Okta (user, apps, devices, groups) and writes the result, as an operator's
    /// resync asks (admin API).
    /// - Returns: What the write did.
    public func resync(userId: String) async throws -> UserWriteOutcome? {
        var work = UserWork()
        work.refresh = [.user, .apps, .devices, .groups]
        guard let change = try await change(for: userId, work: work) else { return nil }
        // An operator's action on any replica: not fenced (the store keeps the newer read anyway).
        let outcomes = try await store.commit(
            UserWriteBatch(connector: connector.slug, changes: [change], at: Timestamp(clock.now)))
        return outcomes.first
    }

    /// The connector's group scope, resolved at most once an hour.
    /// - Throws: ``GroupScope/Problem`` for a group that does not resolve: the events wait, with it.
    func groupScope() async throws -> GroupScope {
        if let known = resolvedScope.withLock({ $0 }), clock.now.timeIntervalSince(known.at) < 3600 {
            return known.scope
        }
        let scope = try await GroupScope.resolve(connector.scopeGroups, client: client)
        resolvedScope.withLock { $0 = (scope, clock.now) }
        return scope
    }

    /// The change one user's events call for, reading Okta as they require.
    func change(for userId: String, work: UserWork) async throws -> UserChange? {
        let stored = try await store.user(connector: connector.slug, id: userId)
        let present = stored?.isPresent == true
        var snapshot = present ? stored!.snapshot : nil
        var refresh = work.refresh
        if snapshot == nil {
            // A user the connector does not hold yet: read all of it.
            refresh = [.user, .apps, .devices, .groups]
        }
        do {
            if refresh.contains(.user) {
                let user = try await client.user(id: userId)
                countsState.withLock { $0.refreshes += 1 }
                if snapshot == nil {
                    snapshot = UserSnapshot(user: user)
                } else {
                    snapshot!.user = user
                }
            }
            guard var current = snapshot else { return nil }
            guard try await readEnrichment(into: &current, userId: userId, refresh: refresh) else {
                return present ? .remove(userId: userId, reason: .notInScope) : nil
            }
            // Direct updates only move a timestamp forward; a refresh is the truth when it was read.
            if let at = work.lastLoginAt, at > (current.user.lastLogin ?? Timestamp(millisecondsSinceEpoch: .min)) {
                current.user.lastLogin = at
            }
            if let at = work.passwordChangedAt,
                at > (current.user.passwordChanged ?? Timestamp(millisecondsSinceEpoch: .min))
            {
                current.user.passwordChanged = at
            }
            guard let status = current.user.knownStatus, connector.userStatuses.contains(status) else {
                return present ? .remove(userId: userId, reason: .statusNotSelected) : nil
            }
            if work.remove {
                // A delete event for a user Okta still has with a selected status: forged, or older
                // than what Okta says now. Okta's answer wins; the user stays (SPEC §20).
                logger.warning(
                    "an event said the user was deleted, but Okta has them with a selected status: kept",
                    metadata: ["user": "\(userId)", "status": "\(current.user.status)"])
            }
            return .upsert(snapshot: current, record: connector.mapper.record(for: current))
        } catch OktaError.notFound {
            // Okta answers 404 E0000007 for a deleted user: remove downstream.
            return present ? .remove(userId: userId, reason: .deleted) : nil
        }
    }

    /// Reads what the events ask of a user's apps, devices and groups into its snapshot, and drops
    /// what the connector does not gather (no groups without `okta.groups.read`, no devices on a
    /// Classic Engine org: SPEC §19). With `user_scope.groups` every read checks the memberships:
    /// an add imports the user at once, a remove from the last listed group removes at once.
    /// - Returns: `false` when the user is outside the scope's groups.
    func readEnrichment(into current: inout UserSnapshot, userId: String, refresh: Set<EventEffect.Refresh>)
        async throws -> Bool
    {
        if refresh.contains(.apps), connector.enrich.apps {
            current.apps = try await client.appLinks(userId: userId).compactMap(\.assignedApp)
        }
        var devices = connector.enrich.devices
        if devices, refresh.contains(.devices) {
            devices = !(await client.isClassicEngine())
            if devices { current.devices = try await client.userDevices(userId: userId).map(\.device.summary) }
        }
        var groups = connector.enrich.groups
        if groups { groups = !(await client.missingScopes()).contains("okta.groups.read") }
        var memberships: [OktaGroup]?
        if !connector.scopeGroups.isEmpty, !refresh.isEmpty {
            let read = try await client.userGroups(userId: userId)
            guard try await groupScope().contains(memberOf: read) else { return false }
            memberships = read
        }
        // Read when an event asks, or with any other read for a snapshot from before groups were
        // gathered; a login event alone (no read) leaves them as they are.
        if groups, refresh.contains(.groups) || (current.groups == nil && !refresh.isEmpty) {
            let read: [OktaGroup]
            if let memberships { read = memberships } else { read = try await client.userGroups(userId: userId) }
            current.groups = read.filter(\.isMapped).map(\.membership)
        }
        if !connector.enrich.apps { current.apps = nil }
        if !devices { current.devices = nil }
        if !groups { current.groups = nil }
        return true
    }
}
