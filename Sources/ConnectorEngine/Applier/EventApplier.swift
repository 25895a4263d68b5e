public import ConnectorConfiguration
public import ConnectorDomain
public import ConnectorStore
public import Foundation
public import Logging
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
    /// Events left for a later attempt because Okta could not be read.
    public var deferred = 0
}

/// Applies the inbox to user state (SPEC §5): in `published` order per user, idempotently, the
/// effect table of ``OktaLogEvent/interpretation``. Login events move `lastLogin` forward without an
/// Okta call; other events refresh the parts of the user they concern from Okta, coalesced per user
/// over a short window and bounded in concurrency, sharing the connector's rate limiter. The state
/// change, its outbox entry and the events' applied marks are one transaction, so a crash between
/// any two steps re-applies safely.
public final class EventApplier: Service, Sendable {
    let connector: ConnectorSettings
    let store: any StateStore
    let client: OktaAPIClient
    let clock: any WallClock
    let logger: Logger
    let coalescingWindow: TimeInterval
    let refreshConcurrency: Int
    private let pokes: AsyncStream<Void>
    private let poke: AsyncStream<Void>.Continuation
    private let countsState = Mutex(ApplierCounts())

    /// Creates an applier.
    /// - Parameters:
    ///   - coalescingWindow: How long to gather events after the first arrives, so that many events
    ///     for one user cost one refresh.
    ///   - refreshConcurrency: Okta refreshes in flight at most.
    public init(
        connector: ConnectorSettings, store: any StateStore, client: OktaAPIClient, clock: any WallClock,
        logger: Logger,
        coalescingWindow: TimeInterval = 0.2, refreshConcurrency: Int = 8
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
        (pokes, poke) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// What was applied so far.
    public var counts: ApplierCounts { countsState.withLock { $0 } }

    /// Tells the applier that new events are in the inbox.
    public func wake() { poke.yield() }

    public func run() async throws {
        // Events left by a previous process (crash or restart) are applied first.
        poke.yield()
        for await _ in pokes.cancelOnGracefulShutdown() {
            try? await clock.sleep(until: clock.now.addingTimeInterval(coalescingWindow))
            do {
                while try await applyPending() > 0 {}
            } catch {
                logger.error("applying events failed; retrying on the next delivery", metadata: ["error": "\(error)"])
                try? await clock.sleep(until: clock.now.addingTimeInterval(1))
                poke.yield()
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

    /// Applies up to `limit` pending events.
    /// - Returns: How many events were taken (applied, ignored or deferred).
    @discardableResult
    public func applyPending(limit: Int = 1000) async throws -> Int {
        let pending = try await store.pendingEvents(connector: connector.slug, limit: limit)
        guard !pending.isEmpty else { return 0 }
        var ignored: [Int64] = []
        var work: [String: UserWork] = [:]
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
                ignored.append(item.seq)
            case .notSuccessful:
                countsState.withLock { $0.notSuccessful += 1 }
                ignored.append(item.seq)
            case .apply(let userId, let effect):
                if work[userId] == nil { order.append(userId) }
                var user = work[userId] ?? UserWork()
                user.seqs.append(item.seq)
                user.types.append(event.eventType)
                if let at = effect.lastLoginAt { user.lastLoginAt = max(user.lastLoginAt ?? at, at) }
                if let at = effect.passwordChangedAt { user.passwordChangedAt = max(user.passwordChangedAt ?? at, at) }
                if effect.remove {
                    user.remove = true
                    user.refresh = []
                } else if !effect.refresh.isEmpty {
                    // A refresh after a removal reads the truth again (a 404 still removes).
                    user.refresh.formUnion(effect.refresh)
                }
                work[userId] = user
            }
        }

        // Decide each user's change, a few Okta refreshes at a time.
        var changes: [(String, UserChange?, [Int64])] = []
        try await withThrowingTaskGroup(of: (String, UserChange?, [Int64]).self) { group in
            var iterator = order.makeIterator()
            func add(_ userId: String) {
                let item = work[userId]!
                group.addTask { [self] in
                    do {
                        return (userId, try await self.change(for: userId, work: item), item.seqs)
                    } catch let error as OktaError {
                        self.logger.warning(
                            "could not read the user from Okta; its events stay in the inbox",
                            metadata: ["user": "\(userId)", "error": "\(error)"])
                        self.countsState.withLock { $0.deferred += item.seqs.count }
                        return (userId, nil, [])
                    }
                }
            }
            for _ in 0..<max(1, refreshConcurrency) { if let next = iterator.next() { add(next) } }
            while let result = try await group.next() {
                changes.append(result)
                if let next = iterator.next() { add(next) }
            }
        }
        let applied = changes.flatMap(\.2) + ignored
        let userChanges = changes.compactMap(\.1)
        let outcomes = try await store.commit(
            UserWriteBatch(
                connector: connector.slug, changes: userChanges, appliedInboxEvents: applied, at: Timestamp(clock.now)))
        countsState.withLock { counts in
            for (userId, _, seqs) in changes where !seqs.isEmpty {
                for type in work[userId]?.types ?? [] { counts.eventsByType[type, default: 0] += 1 }
            }
            counts.queued += outcomes.filter(\.queued).count
            counts.removed += outcomes.filter { if case .removed = $0 { true } else { false } }.count
        }
        return pending.count
    }

    /// Reads one user again from Okta (user, apps, devices) and writes the result, as an operator's
    /// resync asks (admin API).
    /// - Returns: What the write did.
    public func resync(userId: String) async throws -> UserWriteOutcome? {
        var work = UserWork()
        work.refresh = [.user, .apps, .devices]
        guard let change = try await change(for: userId, work: work) else { return nil }
        let outcomes = try await store.commit(
            UserWriteBatch(connector: connector.slug, changes: [change], at: Timestamp(clock.now)))
        return outcomes.first
    }

    /// The change one user's events call for, reading Okta as they require.
    func change(for userId: String, work: UserWork) async throws -> UserChange? {
        let stored = try await store.user(connector: connector.slug, id: userId)
        let present = stored?.isPresent == true
        if work.remove && work.refresh.isEmpty {
            return present ? .remove(userId: userId, reason: .deleted) : nil
        }
        var snapshot = present ? stored!.snapshot : nil
        var refresh = work.refresh
        if snapshot == nil {
            // A user the connector does not hold yet: read all of it.
            refresh = [.user, .apps, .devices]
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
            if refresh.contains(.apps), connector.enrich.apps {
                current.apps = try await client.appLinks(userId: userId).compactMap(\.assignedApp)
            }
            if refresh.contains(.devices), connector.enrich.devices {
                current.devices = try await client.userDevices(userId: userId).map(\.device.summary)
            }
            if !connector.enrich.apps { current.apps = nil }
            if !connector.enrich.devices { current.devices = nil }
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
            return .upsert(snapshot: current, record: connector.mapper.record(for: current))
        } catch OktaError.notFound {
            // Okta answers 404 E0000007 for a deleted user: remove downstream.
            return present ? .remove(userId: userId, reason: .deleted) : nil
        }
    }
}
