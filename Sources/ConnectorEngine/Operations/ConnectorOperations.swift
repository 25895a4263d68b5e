public import ConnectorConfiguration
public import ConnectorDomain
public import ConnectorStore
public import Foundation
public import Logging
public import OktaClient

/// Every operator action on one connector, written once: the scheduler, the catch-up run, the admin
/// API, the console and the CLI all call these, and only parse their input and render the result.
public struct ConnectorOperations: Sendable {
    public let settings: ConnectorSettings
    public let store: any StateStore
    let clock: any WallClock
    let logger: Logger
    /// The connector's working parts; `nil` for a command that only reads and replays what the store
    /// holds (it is handed no Okta token and no hook secret).
    let parts: ConnectorParts?

    /// The operations of a built connector, or of one whose parts are not built.
    /// - Parameters:
    ///   - settings: The connector's settings.
    ///   - store: The store.
    ///   - parts: What the composition root built; `nil` for store-only commands.
    ///   - clock: The clock the actions stamp their rows with.
    ///   - logger: The logger.
    public init(
        settings: ConnectorSettings, store: any StateStore, parts: ConnectorParts?, clock: any WallClock,
        logger: Logger
    ) {
        self.settings = settings
        self.store = store
        self.parts = parts
        self.clock = clock
        var log = logger
        log[metadataKey: "connector"] = "\(settings.slug)"
        self.logger = log
    }

    /// Asked of operations built without the connector's parts.
    public struct PartsNotBuilt: Error, CustomStringConvertible {
        public let action: String
        public var description: String { "\(action) needs the connector's Okta client; it was not built here" }
    }

    func requireParts(_ action: String) throws -> ConnectorParts {
        guard let parts else { throw PartsNotBuilt(action: action) }
        return parts
    }

    var slug: String { settings.slug }
    var now: Timestamp { Timestamp(clock.now) }
}

// MARK: - Reconcile

/// A reconcile as an operation: its record, and the CSV snapshot written after it.
public struct ReconcileReport: Sendable {
    public var record: RunRecord
    /// Where the CSV snapshot was written, for the CSV sink after a successful run.
    public var snapshot: String?
}

/// Whether a reconcile an operator asked for was started.
public enum ReconcileStart: Sendable, Equatable {
    case started
    /// Not started, and why (inactive, or who runs one now).
    case refused(String)
}

extension ConnectorOperations {
    /// Runs one reconcile under the run gate (one per connector across every process sharing the
    /// store), then the snapshot.
    /// - Returns: The report, or who runs one now.
    public func reconcile(_ options: ReconcileOptions) async throws -> RunAdmission<ReconcileReport> {
        let parts = try requireParts("a reconcile")
        return try await parts.gate.admit(slug) { try await reconcileAdmitted(options) }
    }

    /// Runs one reconcile whose caller already holds the run gate (the scheduler), then writes the
    /// CSV snapshot. A snapshot that fails after a successful run is logged as an error and recorded
    /// on the run; it never turns the run into a failure.
    public func reconcileAdmitted(_ options: ReconcileOptions) async throws -> ReconcileReport {
        let parts = try requireParts("a reconcile")
        var report = ReconcileReport(record: try await parts.reconciler.run(options))
        guard report.record.outcome == .succeeded, !report.record.dryRun, let snapshots = parts.snapshots else {
            return report
        }
        do {
            report.snapshot = try await snapshots.writeNow()
        } catch {
            logger.error("CSV snapshot after the reconcile failed", metadata: ["error": "\(error)"])
            report.record.errors.append("CSV snapshot not written: \(error)")
            do {
                try await store.finishRun(report.record)
            } catch {
                logger.error("the snapshot failure could not be recorded on the run", metadata: ["error": "\(error)"])
            }
        }
        return report
    }

    /// Runs one reconcile outside the schedule (a catch-up after reactivation, a manual run started
    /// in the background), unless one is running here or in another process; logs how it went.
    /// - Returns: Whether it ran.
    @discardableResult
    public func reconcileLogged(_ options: ReconcileOptions) async -> Bool {
        let trigger = options.trigger.rawValue
        do {
            let gate = try requireParts("a reconcile").gate
            let admission = try await gate.admit(slug) {
                do {
                    _ = try await reconcileAdmitted(options)
                } catch {
                    logger.error("reconcile failed", metadata: ["error": "\(error)"])
                }
            }
            if case .busy(let holder) = admission {
                logger.notice("\(trigger) reconcile not started: \(holder.message(connector: slug))")
                return false
            }
            return true
        } catch {
            logger.error(
                "\(trigger) reconcile not started: the run lease cannot be taken", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Starts a manual reconcile in the background (it outlives the request), unless the connector
    /// is inactive or a run holds it; a manual run does not move the schedule.
    public func startReconcile(_ options: ReconcileOptions) async throws -> ReconcileStart {
        let parts = try requireParts("a reconcile")
        guard settings.active else { return .refused("the connector is inactive") }
        // In this process or another one sharing the store (a CLI `reconcile`): the holder is named.
        if let holder = try await parts.gate.holder(of: slug) { return .refused(holder.message(connector: slug)) }
        guard let jobs = parts.jobs else { throw PartsNotBuilt(action: "a background reconcile") }
        jobs.start { await reconcileLogged(options) }
        logger.notice(
            "manual reconcile started",
            metadata: ["dry_run": "\(options.dryRun)", "confirm_removals": "\(options.confirmRemovals)"])
        return .started
    }

    /// Whether a reconcile of the connector runs in this process now.
    public var isReconciling: Bool { parts?.gate.isRunning(slug) ?? false }
}

// MARK: - Outbox and inbox

extension ConnectorOperations {
    /// Queues every present user's current record for the sink again (after the sink lost data).
    /// - Returns: How many were queued.
    public func resendAll() async throws -> Int {
        let queued = try await store.requeuePresentUsers(connector: slug, at: now)
        parts?.forwarder.wake()
        logger.notice("every stored user queued again for the sink", metadata: ["queued": "\(queued)"])
        return queued
    }

    /// Moves dead letters back to the end of the outbox.
    /// - Parameter ids: The dead letters; `nil` for all of the connector's.
    /// - Returns: How many were moved.
    public func replayDeadLetters(ids: [Int64]?) async throws -> Int {
        let count = try await store.replayDeadLetters(connector: slug, ids: ids, at: now)
        parts?.forwarder.wake()
        logger.notice("dead letters replayed", metadata: ["count": "\(count)"])
        return count
    }

    /// Makes failed inbox events pending again, their attempts reset.
    /// - Parameter ids: The events; `nil` for all of the connector's.
    /// - Returns: How many will be applied again.
    public func retryFailedEvents(ids: [Int64]?) async throws -> Int {
        let count = try await store.retryFailedEvents(connector: slug, seqs: ids, at: now)
        parts?.applier.wake()
        logger.notice("failed events made pending again", metadata: ["count": "\(count)"])
        return count
    }

    /// Tells the applier that events were stored for the connector (it also looks every second).
    public func eventsArrived() {
        parts?.applier.wake()
    }

    /// Reads one user again from Okta (user, apps, devices) and writes the result.
    /// - Returns: What the write did; `nil` when there was nothing to do.
    public func resyncUser(id: String) async throws -> UserWriteOutcome? {
        try await requireParts("a user resync").applier.resync(userId: id)
    }

    /// Sends everything queued for the sink now (the `reconcile` command, which runs without `serve`).
    /// - Returns: The outbox entries sent and the records they carried.
    public func forwardQueued() async throws -> (entries: Int, records: Int) {
        let forwarder = try requireParts("forwarding").forwarder
        let entries = try await forwarder.drain()
        return (entries, forwarder.forwarded)
    }

    /// Sends everything queued for the sink after a run, retrying a sink that is briefly down for up
    /// to `timeout` (the `reconcile` command from cron, SPEC §15), and records on the run whether
    /// its changes reached the sink.
    /// - Parameters:
    ///   - run: The run whose changes are being forwarded.
    ///   - timeout: How long to keep retrying (`sink.forward_timeout` or `--forward-timeout`).
    /// - Returns: The outbox entries sent and the records they carried.
    /// - Throws: ``ForwardingTimedOut``, the sink's `credentialsRejected`, the store's errors,
    ///   `CancellationError`; the run is recorded as not forwarded first.
    public func forwardQueued(
        after run: Int64, retryingFor timeout: TimeInterval
    ) async throws -> (entries: Int, records: Int) {
        let forwarder = try requireParts("forwarding").forwarder
        let entries: Int
        do {
            entries = try await forwarder.drain(retryingFor: timeout)
        } catch {
            // Recorded even when a signal cancelled the forwarding (the store's call must not see
            // that cancellation): the run's changes did not all reach the sink.
            let store = store
            do {
                try await Task.detached { try await store.recordRunForwarding(id: run, forwarded: false) }.value
            } catch let recording {
                logger.error(
                    "the run's forwarding could not be recorded", metadata: ["run": "\(run)", "error": "\(recording)"])
            }
            throw error
        }
        try await store.recordRunForwarding(id: run, forwarded: true)
        return (entries, forwarder.forwarded)
    }
}

// MARK: - Health

extension ConnectorOperations {
    /// How the connector is doing: the worst of its parts' reports, of Okta's answer to its
    /// credentials and of its forwarder.
    public var health: ConnectorHealth {
        guard let parts else { return settings.active ? .running : .stopped(reason: "inactive") }
        let reported = parts.board.health
        if case .running = reported, let pause = parts.okta.pause.current {
            return .degraded(reason: "okta: \(pause.reason)")
        }
        if case .running = reported, parts.forwarder.state != .healthy {
            return .degraded(reason: "forwarder: \(parts.forwarder.state): \(parts.forwarder.lastError ?? "")")
        }
        if case .running = reported, !settings.active { return .stopped(reason: "inactive") }
        return reported
    }

    /// Tells `observer` of each rate-limit wait of the connector's Okta calls as it starts.
    public func observeRateLimitWaits(_ observer: @escaping @Sendable (RateLimitWait) -> Void) {
        parts?.okta.limiter.observeWaits(observer)
    }

    /// How many calls the connector made to Okta since its client was built.
    public var oktaCallCount: Int { parts?.okta.callCounts.total ?? 0 }

    /// What the connector's Okta credentials cost so far (token requests, tokens fetched, DPoP
    /// nonce round trips); `nil` where the parts run against an in-memory Okta or were not built.
    public func credentialCounts() async -> OktaCredentialsProvider.Counts? { await parts?.hooks?.credentials.counts }

    /// How many times the connector's Okta calls waited on a rate limit.
    public func rateLimitWaitCount() async -> Int { await parts?.okta.limiter.waits ?? 0 }

    /// The rate-limit wait the connector's Okta calls are in now, if any (a run's progress says so).
    public func currentRateLimitWait() async -> RateLimitWait? { await parts?.okta.limiter.currentWait }

    /// Whether Okta rejected the connector's credentials and calls are held.
    public var credentialsPaused: Bool { parts?.okta.pause.current != nil }

    /// The last rate-limit state Okta reported for each bucket the connector called.
    public func rateLimits() async -> [(bucket: OktaBucket, limit: Int, remaining: Int, resetIn: TimeInterval)] {
        guard let limiter = parts?.okta.limiter else { return [] }
        var states: [(bucket: OktaBucket, limit: Int, remaining: Int, resetIn: TimeInterval)] = []
        for bucket in OktaBucket.allCases {
            if let state = await limiter.state(of: bucket) {
                states.append((bucket, state.limit, state.remaining, state.resetIn))
            }
        }
        return states
    }
}
