public import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Foundation
import Logging
public import ServiceLifecycle
import Synchronization

/// One part of a connector as the supervisor runs it.
public struct ConnectorPart: Sendable {
    /// The part's name in logs and health (`applier`, `scheduler`, `forwarder`, `csv-snapshots`).
    public var name: String
    public var service: any Service
    /// Whether it may end on its own (an inactive connector's scheduler).
    public var mayFinish: Bool
    /// Whether it runs only on the replica holding the connector's worker lease (the applier,
    /// scheduler, forwarder, snapshots); `false` for what every replica keeps (the sink's resources).
    public var worker: Bool

    /// Creates a part.
    public init(name: String, service: any Service, mayFinish: Bool = false, worker: Bool = true) {
        self.name = name
        self.service = service
        self.mayFinish = mayFinish
        self.worker = worker
    }
}

/// Runs each connector's parts (applier, scheduler, forwarder, CSV snapshots) as a group of its own,
/// so that a configuration reload can add, remove, restart, activate or deactivate connectors while
/// the listener keeps serving (SPEC §3). Each part is a ``SupervisedService``: one that fails is
/// logged and restarted with backoff, and never stops another part or another connector. Every
/// connector group is a child task of the supervisor's own task group (structured). Reloads are
/// serialized; in-flight work of a stopped connector finishes first.
public final class ConnectorSupervisor: Service, Sendable {
    struct Running: Sendable {
        let runtime: ConnectorRuntime
        let fingerprint: String
        let group: ServiceGroup
        let finished: Latch
    }

    /// Work for the supervisor's task group: a connector's services, or a one-off job.
    enum Launch: Sendable {
        case connector(slug: String, group: ServiceGroup, finished: Latch)
        case job(name: String, work: @Sendable () async -> Void)
    }

    let build: @Sendable (ConnectorSettings, ConnectorHealthBoard) throws -> (ConnectorRuntime, [ConnectorPart])
    let gate: RunGate
    /// Where the worker leases and runs live (the store).
    let leases: any WorkerLeases & RunHistory
    let clock: any WallClock
    let logger: Logger
    private let running = Mutex<[String: Running]>([:])
    private let initial: [ConnectorSettings]
    private let launches: AsyncStream<Launch>
    private let launch: AsyncStream<Launch>.Continuation
    private let reloads = AsyncSerialLock()
    /// Set once shutdown has stopped the connectors: a reload after that starts nothing.
    private let shutDown = Mutex(false)

    init(
        initial: [ConnectorSettings], gate: RunGate, leases: any WorkerLeases & RunHistory, clock: any WallClock,
        logger: Logger,
        build:
            @escaping @Sendable (ConnectorSettings, ConnectorHealthBoard) throws -> (ConnectorRuntime, [ConnectorPart])
    ) {
        self.initial = initial
        self.gate = gate
        self.leases = leases
        self.clock = clock
        self.logger = logger
        self.build = build
        (launches, launch) = AsyncStream.makeStream(of: Launch.self)
    }

    /// The runtimes of the connectors running now.
    public var runtimes: [ConnectorRuntime] {
        running.withLock { $0.values.map(\.runtime) }.sorted { $0.settings.slug < $1.settings.slug }
    }

    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            // A connector that cannot be built at start fails `serve` with its reason: the operator
            // is there to read it. Reloads keep the others running instead.
            try await apply(initial)
            group.addTask {
                try? await gracefulShutdown()
                await self.stopAll()
                self.launch.finish()
            }
            for await launched in launches {
                switch launched {
                case .connector(let slug, let services, let finished):
                    group.addTask {
                        do {
                            try await services.run()
                        } catch {
                            self.logger.error(
                                "connector services stopped with an error",
                                metadata: ["connector": "\(slug)", "error": "\(error)"])
                        }
                        finished.open()
                    }
                case .job(_, let work):
                    group.addTask { await cancelWhenGracefulShutdown { await work() } }
                }
            }
        }
    }

    /// Brings the running connectors in line with a configuration. Reloads run one at a time.
    /// - Throws: ``ConnectorStartFailure`` naming each connector that could not be started; the
    ///   others run.
    public func apply(_ connectors: [ConnectorSettings]) async throws {
        try await reloads.withLock { try await self.applyNow(connectors) }
    }

    private func applyNow(_ connectors: [ConnectorSettings]) async throws {
        guard !shutDown.withLock({ $0 }) else {
            logger.notice("configuration not applied: the process is shutting down")
            return
        }
        let wanted = Dictionary(connectors.map { ($0.slug, $0) }, uniquingKeysWith: { first, _ in first })
        let current = running.withLock { $0 }
        for (slug, old) in current where wanted[slug]?.fingerprint != old.fingerprint {
            await stop(slug, reason: wanted[slug] == nil ? "removed" : "changed")
        }
        var failures: [String: String] = [:]
        for connector in connectors where running.withLock({ $0[connector.slug] }) == nil {
            let health = ConnectorHealthBoard()
            let runtime: ConnectorRuntime
            var parts: [ConnectorPart]
            do {
                (runtime, parts) = try build(connector, health)
            } catch {
                failures[connector.slug] = "\(error)"
                logger.error(
                    "connector cannot start; the others keep running",
                    metadata: ["connector": "\(connector.slug)", "error": "\(error)"])
                continue
            }
            let wasInactive = current[connector.slug].map { !$0.runtime.settings.active } ?? false
            if wasInactive, connector.active {
                // Made active again: a catch-up reconcile (SPEC §2), a part that ends when done.
                parts.append(
                    ConnectorPart(
                        name: "catch-up",
                        service: OneShotService { await self.reconcile(runtime, trigger: .reactivation) },
                        mayFinish: true))
            }
            let log: Logger = {
                var log = logger
                log[metadataKey: "connector"] = "\(connector.slug)"
                return log
            }()
            let clock = clock
            let supervised: @Sendable (ConnectorPart) -> ServiceGroupConfiguration.ServiceConfiguration = { part in
                ServiceGroupConfiguration.ServiceConfiguration(
                    service: SupervisedService(
                        name: part.name, service: part.service, mayFinish: part.mayFinish, health: health,
                        clock: clock, logger: log),
                    successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup)
            }
            let workerParts = parts.filter(\.worker)
            let groupLogger = logger
            // The worker parts run only while this replica holds the connector's worker lease.
            let leases = leases
            let leased = ConnectorWorkerLease(
                connector: connector.slug, store: leases, clock: clock, logger: log, health: health,
                onTakeover: {
                    // The previous holder's run, if it died mid-run: interrupted, removing nothing.
                    do {
                        let runs = try await leases.interruptAbandonedRuns(at: Timestamp(clock.now))
                        if !runs.isEmpty {
                            log.warning(
                                "runs of a replica that stopped are marked interrupted; they removed nothing",
                                metadata: ["runs": "\(runs.map(String.init).joined(separator: ","))"])
                        }
                    } catch {
                        log.error("could not check for interrupted runs", metadata: ["error": "\(error)"])
                    }
                },
                fence: runtime.fence
            ) {
                var configuration = ServiceGroupConfiguration(
                    services: workerParts.map(supervised), gracefulShutdownSignals: [], logger: groupLogger)
                // A part stuck in a store call that never answers (a request PostgresNIO's pool lost
                // while the database was away) would keep the connector's worker from stopping
                // when its lease is lost, and from starting again: after 10 s it is cancelled.
                configuration.maximumGracefulShutdownDuration = .seconds(10)
                return ServiceGroup(configuration: configuration)
            }
            // What every replica keeps comes first: a group stops its services in reverse order.
            let services =
                parts.filter { !$0.worker }.map(supervised)
                + [.init(service: leased, successTerminationBehavior: .gracefullyShutdownGroup)]
            let group = ServiceGroup(
                configuration: .init(services: services, gracefulShutdownSignals: [], logger: logger))
            let finished = Latch()
            running.withLock {
                $0[connector.slug] = Running(
                    runtime: runtime, fingerprint: connector.fingerprint, group: group, finished: finished)
            }
            launch.yield(.connector(slug: connector.slug, group: group, finished: finished))
            logger.notice(
                "connector running", metadata: ["connector": "\(connector.slug)", "active": "\(connector.active)"])
        }
        if !failures.isEmpty { throw ConnectorStartFailure(reasons: failures) }
    }

    /// Starts a manual reconcile in the background (admin API), unless one is running here or in
    /// another process; it is cancelled at shutdown (recorded `interrupted`).
    func startManualRun(_ runtime: ConnectorRuntime, options: ReconcileOptions = ReconcileOptions(trigger: .manual)) {
        launch.yield(.job(name: "manual reconcile") { await self.reconcile(runtime, options: options) })
    }

    /// Runs one reconcile outside the schedule, unless one is running (in this process or, by the
    /// store's run lease, in another).
    /// - Returns: Whether it ran.
    @discardableResult
    func reconcile(_ runtime: ConnectorRuntime, trigger: RunTrigger) async -> Bool {
        await reconcile(runtime, options: ReconcileOptions(trigger: trigger))
    }

    /// Runs one reconcile with these options outside the schedule, unless one is running.
    /// - Returns: Whether it ran.
    @discardableResult
    func reconcile(_ runtime: ConnectorRuntime, options: ReconcileOptions) async -> Bool {
        let trigger = options.trigger
        let slug = runtime.settings.slug
        do {
            let admission = try await gate.admit(slug) {
                do {
                    let record = try await runtime.reconciler.run(options)
                    if record.outcome == .succeeded, !record.dryRun, let snapshots = runtime.snapshots {
                        try await snapshots.writeNow()
                    }
                } catch {
                    logger.error("reconcile failed", metadata: ["connector": "\(slug)", "error": "\(error)"])
                }
            }
            if case .busy(let holder) = admission {
                logger.notice(
                    "\(trigger.rawValue) reconcile not started: \(holder.message(connector: slug))",
                    metadata: ["connector": "\(slug)"])
                return false
            }
            return true
        } catch {
            logger.error(
                "\(trigger.rawValue) reconcile not started: the run lease cannot be taken",
                metadata: ["connector": "\(slug)", "error": "\(error)"])
            return false
        }
    }

    private func stop(_ slug: String, reason: String) async {
        guard let entry = running.withLock({ $0.removeValue(forKey: slug) }) else { return }
        logger.notice("connector stopping", metadata: ["connector": "\(slug)", "reason": "\(reason)"])
        await entry.group.triggerGracefulShutdown()
        await entry.finished.wait()
    }

    private func stopAll() async {
        await reloads.withLock {
            shutDown.withLock { $0 = true }
            await withDiscardingTaskGroup { group in
                for slug in self.running.withLock({ Array($0.keys) }) {
                    group.addTask { await self.stop(slug, reason: "shutdown") }
                }
            }
        }
    }
}

/// Connectors a reload could not start, with the reason for each; the others run.
public struct ConnectorStartFailure: Error, CustomStringConvertible {
    public var reasons: [String: String]

    public var description: String {
        "could not start "
            + reasons.sorted { $0.key < $1.key }.map { "connector \($0.key): \($0.value)" }.joined(separator: "; ")
    }
}

/// A piece of work run once as a service.
struct OneShotService: Service {
    let work: @Sendable () async -> Void

    func run() async { await work() }
}

/// Opens once; every waiter, before or after, goes on.
final class Latch: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let openNow = state.withLock { state in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if openNow { continuation.resume() }
        }
    }
}

/// One holder at a time, in arrival order, for async work (reloads).
final class AsyncSerialLock: Sendable {
    private let state = Mutex<(locked: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func withLock<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { continuation in
            let acquired = state.withLock { state in
                if !state.locked {
                    state.locked = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if acquired { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.locked = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
