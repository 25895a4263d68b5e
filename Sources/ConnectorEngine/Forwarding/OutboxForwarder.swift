import ConnectorConfiguration
public import ConnectorDomain
public import ConnectorStore
public import Foundation
public import Logging
import Metrics
public import NeuronsSinks
public import ServiceLifecycle
import Synchronization

/// Drains a connector's outbox to its sink (SPEC §9): in queue order, several changes of one user
/// coalesced into the latest, in batches, marked done only after the sink accepted them. Retryable
/// failures back off exponentially with jitter (honouring `Retry-After`) for as long as the sink is
/// down; a permanent rejection is narrowed down by splitting the batch until only the rejected
/// records go to the dead letters.
public final class OutboxForwarder: Service, Sendable {
    let connector: String
    let store: any StateStore
    let sink: any RecordSink
    let clock: any WallClock
    let logger: Logger
    let batchSize: Int
    let idleWait: TimeInterval
    let maximumBackoff: TimeInterval
    /// The worker lease this replica holds for the connector, when it runs under one (`serve`):
    /// every batch is checked against the store's lease before it goes out.
    let fence: WorkerFenceHolder?
    // Not an AsyncStream: a stream whose waiting task is cancelled (the idle timer won) is finished
    // for good, and every later wait would return at once.
    private let wakeUp = WakeSignal()
    private let forwardedCount = Atomic<Int>(0)
    private let failureCount = Atomic<Int>(0)
    private let currentState = Mutex<ForwarderState>(.healthy)

    /// Creates a forwarder.
    public init(
        connector: String, store: any StateStore, sink: any RecordSink, clock: any WallClock, logger: Logger,
        batchSize: Int = 500, idleWait: TimeInterval = 1, maximumBackoff: TimeInterval = 300,
        fence: WorkerFenceHolder? = nil
    ) {
        self.fence = fence
        self.connector = connector
        self.store = store
        self.sink = sink
        self.clock = clock
        var log = logger
        log[metadataKey: "connector"] = "\(connector)"
        self.logger = log
        self.batchSize = batchSize
        self.idleWait = idleWait
        self.maximumBackoff = maximumBackoff
    }

    /// Records the sink accepted so far.
    public var forwarded: Int { forwardedCount.load(ordering: .relaxed) }

    /// Batches the sink did not take so far (retryable or rejected).
    public var failures: Int { failureCount.load(ordering: .relaxed) }

    /// How forwarding is going, for status and metrics.
    public var state: ForwarderState { currentState.withLock { $0 } }

    /// The last failure, while forwarding is not healthy; `nil` once a batch goes through again.
    public var lastError: String? { state.lastError }

    /// Tells the forwarder that the outbox has new entries.
    public func wake() { wakeUp.signal() }

    /// Forwards until cancelled or shut down gracefully. Sink and store failures never end it: they
    /// are logged, shown in ``state``, and retried with capped backoff; every wait ends at once on a
    /// graceful shutdown.
    public func run() async throws {
        var failures = 0
        // The sink's failures in a row and when the first of them was, for the line saying it is back.
        var sinkFailures = 0
        var failingSince: Date?
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                let sent = try await forwardOnce()
                failures = 0
                if sinkFailures > 0, sent > 0, let since = failingSince {
                    logger.notice(
                        "sink takes batches again",
                        metadata: [
                            "failed_attempts": "\(sinkFailures)",
                            "failing_for_s": "\(Int64(saturating: clock.now.timeIntervalSince(since).rounded()))",
                        ])
                    sinkFailures = 0
                    failingSince = nil
                }
                currentState.withLock { $0 = .healthy }
                if sent == 0 { await cancelWhenGracefulShutdown { await self.waitForWork() } }
            } catch let error as SinkError {
                failures += 1
                sinkFailures += 1
                if failingSince == nil { failingSince = clock.now }
                let delay = backoff(failures: failures, error: error)
                let failing: ForwarderState
                if case .credentialsRejected = error {
                    failing = .sinkRejectsCredentials(error.description)
                } else {
                    failing = .sinkUnavailable(error.description)
                }
                currentState.withLock { $0 = failing }
                logger.warning(
                    "sink did not take the batch; retrying",
                    metadata: ["error": "\(error)", "retry_in_s": "\(Int64(saturating: delay.rounded(.up)))"])
                await pause(delay)
            } catch let error as StoreError where error.isFenced {
                // Another replica took the connector over: its forwarder sends from now on, and
                // the supervisor stops this one as soon as its lease keeper notices.
                if Task.isCancelled || Task.isShuttingDownGracefully { break }
                failures += 1
                currentState.withLock { $0 = .notLeaseHolder(error.description) }
                logger.notice("not forwarding: this replica no longer holds the connector's worker lease")
                // Looked at again soon, not after the sink's backoff: the lease is often only
                // lapsing for a moment (renewed once the store answers again after an outage).
                await pause(RetryPolicy.storeOutage.delay(afterAttempt: failures, random: Double.random(in: 0..<1)))
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { break }
                // The store failed (disk full, database down): the outbox is intact; try again soon.
                failures += 1
                let delay = RetryPolicy.storeOutage.delay(afterAttempt: failures, random: Double.random(in: 0..<1))
                currentState.withLock { $0 = .storeUnavailable("\(error)") }
                logger.error(
                    "outbox store failed; retrying",
                    metadata: ["error": "\(error)", "retry_in_s": "\(Int64(saturating: delay.rounded(.up)))"])
                await pause(delay)
            }
        }
    }

    /// Waits, ending early on cancellation or graceful shutdown.
    private func pause(_ seconds: TimeInterval) async {
        let deadline = clock.now.addingTimeInterval(seconds)
        try? await cancelWhenGracefulShutdown { [clock] in try await clock.sleep(until: deadline) }
    }

    private func waitForWork() async {
        await wakeUp.wait(until: clock.now.addingTimeInterval(idleWait), clock: clock)
    }

    /// The wait before the next attempt: capped exponential backoff with jitter, or longer when the
    /// sink asked for it, but never more than `maximumBackoff` (5 min): a sink that asks for hours
    /// (or sends a nonsensical `Retry-After`) is asked again after five minutes, which costs one
    /// more refusal at worst, rather than keeping Neurons an hour behind once it is back.
    /// - Parameters:
    ///   - failures: Failures in a row, from 1.
    ///   - error: The sink's error; `nil` for a store failure.
    func backoff(failures: Int, error: SinkError?) -> TimeInterval {
        // Without limit in attempts: the outbox holds the changes through a long outage (SPEC §9).
        let policy = RetryPolicy(maximumAttempts: .max, initialDelay: 0.5, maximumDelay: maximumBackoff)
        let jittered = policy.delay(afterAttempt: failures, random: Double.random(in: 0..<1))
        let asked = error?.retryAfter ?? 0
        return HeaderValues.seconds(max(asked, jittered), maximum: maximumBackoff)?.value ?? maximumBackoff
    }

    /// Sends one batch of the oldest entries.
    /// - Returns: How many outbox entries it took off the queue (0 when it was empty).
    /// - Throws: `SinkError` when the sink did not take the batch for now (nothing marked); the
    ///   store's errors.
    @discardableResult
    public func forwardOnce() async throws -> Int {
        let entries = try await store.pendingOutbox(connector: connector, limit: batchSize)
        guard !entries.isEmpty else { return 0 }
        // Coalesce: per user, only the latest version goes out, at the position of its latest entry.
        var latest: [String: OutboxEntry] = [:]
        var seqs: [String: [Int64]] = [:]
        for entry in entries {
            if let current = latest[entry.userId], current.version > entry.version {
                seqs[entry.userId, default: []].append(entry.seq)
                continue
            }
            latest[entry.userId] = entry
            seqs[entry.userId, default: []].append(entry.seq)
        }
        let ordered = Array(latest.values.sorted { $0.seq < $1.seq }.prefix(batchSize))
        try await checkFence()
        return try await deliver(ordered, seqs: seqs)
    }

    /// Delivers records (one per user, in queue order) as one batch. When the sink rejects the batch
    /// as a whole, it is split in halves, each delivered the same way, until the rejected records
    /// are alone: only those go to the dead letters, with the sink's reason, and the rest is
    /// delivered — one bad record no longer takes its whole batch along, nor again on every replay.
    /// Each user appears once, so the halves keep every user's order.
    /// - Parameters:
    ///   - records: The latest entry of each user, in queue order.
    ///   - seqs: Every outbox entry of each user that the record stands for.
    /// - Returns: How many outbox entries it took off the queue.
    /// - Throws: `SinkError` when the sink did not take a part for now (that part and the rest stay
    ///   queued; parts already taken are marked); the store's errors.
    private func deliver(_ records: [OutboxEntry], seqs: [String: [Int64]]) async throws -> Int {
        let included = records.flatMap { seqs[$0.userId] ?? [] }
        let batch = SinkBatch(
            connector: connector, batchId: "\(connector)-\(records.first!.seq)-\(records.last!.seq)",
            records: records.map {
                SinkRecord(
                    operation: $0.operation.rawValue, key: $0.userId, version: $0.version, attributesJSON: $0.recordJSON
                )
            })
        // A forwarder left behind (cancelled, stuck in a call that returned late) sends and writes
        // nothing more: the entries are the live forwarder's.
        try Task.checkCancellation()
        do {
            try await sink.deliver(batch)
        } catch .permanent(let reason) {
            countSinkError("rejected")
            if records.count > 1 {
                logger.notice(
                    "sink rejected a batch; splitting it to find the records it rejects",
                    metadata: ["reason": "\(reason)", "records": "\(records.count)"])
                let middle = records.count / 2
                let first = try await deliver(Array(records[..<middle]), seqs: seqs)
                return first + (try await deliver(Array(records[middle...]), seqs: seqs))
            }
            failureCount.add(1, ordering: .relaxed)
            Counter(label: "okta_connector_dead_letters_total", dimensions: [("connector", connector)])
                .increment(by: included.count)
            logger.error(
                "sink rejected a record; moved to dead letters",
                metadata: ["reason": "\(reason)", "key": "\(records[0].userId)"])
            try await store.moveToDeadLetters(
                connector: connector, seqs: included, reason: reason, at: Timestamp(clock.now))
            return included.count
        } catch {
            failureCount.add(1, ordering: .relaxed)
            if case .credentialsRejected = error { countSinkError("credentials") } else { countSinkError("retryable") }
            try Task.checkCancellation()
            try await store.recordForwardFailure(
                connector: connector, seqs: included, error: error.description, nextAttemptAt: Timestamp(clock.now))
            throw error
        }
        try Task.checkCancellation()
        try await store.markForwarded(connector: connector, seqs: included)
        forwardedCount.add(batch.records.count, ordering: .relaxed)
        Counter(label: "okta_connector_records_forwarded_total", dimensions: [("connector", connector)])
            .increment(by: batch.records.count)
        // Forward latency: from the oldest change of the batch being queued to the sink taking it.
        if let oldest = records.map(\.createdAt.millisecondsSinceEpoch).min() {
            let milliseconds = max(0, Timestamp(clock.now).millisecondsSinceEpoch - oldest)
            Timer(label: "okta_connector_forward_latency_seconds", dimensions: [("connector", connector)])
                .recordMilliseconds(milliseconds)
        }
        return included.count
    }

    /// Refuses to send unless the store's worker lease is still the one this replica holds: a
    /// replica that hung past its lease (and was taken over) never sends an older version of a
    /// record after the new holder sent a newer one.
    /// - Throws: ``StoreError/fenced(connector:epoch:)`` when the lease is not ours any more;
    ///   `CancellationError` when this forwarder was cancelled (one left behind stuck in a call must
    ///   never send once it returns, even after this replica took the lease again).
    private func checkFence() async throws {
        try Task.checkCancellation()
        guard let fence else { return }
        guard let held = fence.current else { throw StoreError.fenced(connector: connector, epoch: 0) }
        // Lease times are wall-clock times shared between replicas, whatever the forwarder's clock.
        guard held.admits(try await store.workerLease(connector: connector), at: Timestamp(Date())) else {
            throw StoreError.fenced(connector: connector, epoch: held.epoch)
        }
    }

    private func countSinkError(_ kind: String) {
        Counter(label: "okta_connector_sink_errors_total", dimensions: [("connector", connector), ("kind", kind)])
            .increment()
    }

    /// Forwards until the outbox is empty.
    public func drain() async throws -> Int {
        var total = 0
        while true {
            let sent = try await forwardOnce()
            if sent == 0 { return total }
            total += sent
        }
    }

    /// Forwards until the outbox is empty, riding out a sink that is briefly down (the `reconcile`
    /// command's last step, run from cron without `serve`; SPEC §15): a retryable failure is tried
    /// again after the forwarder's backoff, or the sink's valid `Retry-After`, each wait capped at
    /// the time left, until `timeout` has passed. A sink that refuses the credentials is not asked
    /// again: waiting does not fix a configuration.
    /// - Parameter timeout: How long to keep retrying, from now.
    /// - Returns: How many outbox entries it took off the queue.
    /// - Throws: ``ForwardingTimedOut`` when the sink still did not take everything at the deadline;
    ///   `SinkError.credentialsRejected`; the store's errors; `CancellationError`.
    public func drain(retryingFor timeout: TimeInterval) async throws -> Int {
        let started = clock.now
        let deadline = started.addingTimeInterval(timeout)
        var total = 0
        var failures = 0
        while true {
            do {
                let sent = try await forwardOnce()
                if failures > 0 {
                    logger.notice(
                        "sink takes batches again", metadata: ["failed_attempts": "\(failures)"])
                    failures = 0
                }
                if sent == 0 { return total }
                total += sent
            } catch let error as SinkError {
                if case .credentialsRejected = error { throw error }
                failures += 1
                let left = deadline.timeIntervalSince(clock.now)
                guard left > 0 else {
                    throw ForwardingTimedOut(
                        attempts: failures, waited: clock.now.timeIntervalSince(started), lastError: error)
                }
                let delay = min(backoff(failures: failures, error: error), left)
                logger.warning(
                    "sink did not take the batch; retrying",
                    metadata: [
                        "error": "\(error)", "retry_in_s": "\(Int64(saturating: delay.rounded(.up)))",
                        "gives_up_in_s": "\(Int64(saturating: left.rounded(.up)))",
                    ])
                try await clock.sleep(until: clock.now.addingTimeInterval(delay))
            }
        }
    }
}

/// The sink still did not take everything queued when the time to retry ran out.
public struct ForwardingTimedOut: Error, CustomStringConvertible {
    /// Attempts that failed.
    public var attempts: Int
    /// Seconds spent retrying.
    public var waited: TimeInterval
    /// The sink's last answer.
    public var lastError: SinkError

    public var description: String {
        "the sink did not take the changes after \(attempts) attempt\(attempts == 1 ? "" : "s") "
            + "over \(Int64(saturating: waited.rounded())) s: \(lastError)"
    }
}

/// How a forwarder is doing (shown by the status page and the admin API).
public enum ForwarderState: Sendable, Hashable, CustomStringConvertible {
    /// The last batch went through, or there was nothing to send.
    case healthy
    /// The sink is down or busy; the records wait in the outbox.
    case sinkUnavailable(String)
    /// The sink refuses the connector's credentials; the records wait until the configuration is fixed.
    case sinkRejectsCredentials(String)
    /// The store failed while reading or marking the outbox.
    case storeUnavailable(String)
    /// Another replica holds the connector's worker lease and forwards its outbox.
    case notLeaseHolder(String)

    /// The failure, if any.
    public var lastError: String? {
        switch self {
        case .healthy: return nil
        case .sinkUnavailable(let error), .sinkRejectsCredentials(let error), .storeUnavailable(let error),
            .notLeaseHolder(let error):
            return error
        }
    }

    public var description: String {
        switch self {
        case .healthy: return "forwarding"
        case .sinkUnavailable: return "sink unavailable"
        case .sinkRejectsCredentials: return "sink rejects credentials"
        case .storeUnavailable: return "store unavailable"
        case .notLeaseHolder: return "another replica forwards"
        }
    }
}
