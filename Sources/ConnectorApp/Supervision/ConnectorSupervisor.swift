public import ConnectorConfiguration
import ConnectorDomain
public import ConnectorEngine
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

    /// Work for the supervisor's task group: a connector's services.
    struct Launch: Sendable {
        let slug: String
        let group: ServiceGroup
        let finished: Latch
    }

    let build: @Sendable (ConnectorSettings, ConnectorHealthBoard) throws -> AssembledConnector
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

    /// Creates the supervisor.
    /// - Parameters:
    ///   - initial: The connectors to run at start.
    ///   - leases: Where the worker leases and runs live (the store).
    ///   - build: Builds one connector (``ConnectorAssembly``).
    init(
        initial: [ConnectorSettings], leases: any WorkerLeases & RunHistory, clock: any WallClock, logger: Logger,
        build: @escaping @Sendable (ConnectorSettings, ConnectorHealthBoard) throws -> AssembledConnector
    ) {
        self.initial = initial
        self.leases = leases
        self.clock = clock
        self.logger = logger
        self.build = build
        (launches, launch) = AsyncStream.makeStream(of: Launch.self)
    }

    /// The running connector with this URL name, if it runs.
    func runtime(for slug: String) -> ConnectorRuntime? {
        running.withLock { $0[slug]?.runtime }
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
                group.addTask {
                    do {
                        try await launched.group.run()
                    } catch {
                        self.logger.error(
                            "connector services stopped with an error",
                            metadata: ["connector": "\(launched.slug)", "error": "\(error)"])
                    }
                    launched.finished.open()
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
            // Made active again: a catch-up reconcile (SPEC §2).
            let wasInactive = current[connector.slug].map { !$0.runtime.settings.active } ?? false
            do {
                try start(connector, catchUp: wasInactive && connector.active)
            } catch {
                failures[connector.slug] = "\(error)"
                logger.error(
                    "connector cannot start; the others keep running",
                    metadata: ["connector": "\(connector.slug)", "error": "\(error)"])
            }
        }
        if !failures.isEmpty { throw ConnectorStartFailure(reasons: failures) }
    }

    /// Builds one connector and hands its service group to ``run()``.
    /// - Parameter catchUp: Whether a catch-up reconcile runs once (a part that ends when done).
    private func start(_ connector: ConnectorSettings, catchUp: Bool) throws {
        let health = ConnectorHealthBoard()
        let assembled = try build(connector, health)
        let runtime = assembled.runtime
        var parts = assembled.parts
        if catchUp {
            parts.append(
                ConnectorPart(
                    name: "catch-up",
                    service: OneShotService {
                        await runtime.operations.reconcileLogged(ReconcileOptions(trigger: .reactivation))
                    },
                    mayFinish: true))
        }
        var log = logger
        log[metadataKey: "connector"] = "\(connector.slug)"
        let (clock, logger) = (clock, log)
        let supervised: @Sendable (ConnectorPart) -> ServiceGroupConfiguration.ServiceConfiguration = { part in
            ServiceGroupConfiguration.ServiceConfiguration(
                service: SupervisedService(
                    name: part.name, service: part.service, mayFinish: part.mayFinish, health: health,
                    clock: clock, logger: logger),
                successTerminationBehavior: .gracefullyShutdownGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup)
        }
        let leased = workerLease(
            connector, services: parts.filter(\.worker).map(supervised), health: health, fence: assembled.fence,
            logger: log)
        // What every replica keeps comes first: a group stops its services in reverse order.
        let services =
            parts.filter { !$0.worker }.map(supervised)
            + [.init(service: leased, successTerminationBehavior: .gracefullyShutdownGroup)]
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [], logger: self.logger))
        let finished = Latch()
        running.withLock {
            $0[connector.slug] = Running(
                runtime: runtime, fingerprint: connector.fingerprint, group: group, finished: finished)
        }
        launch.yield(Launch(slug: connector.slug, group: group, finished: finished))
        self.logger.notice(
            "connector running", metadata: ["connector": "\(connector.slug)", "active": "\(connector.active)"])
    }

    /// The worker parts of a connector, run only while this replica holds its worker lease.
    private func workerLease(
        _ connector: ConnectorSettings, services: [ServiceGroupConfiguration.ServiceConfiguration],
        health: ConnectorHealthBoard, fence: WorkerFenceHolder, logger log: Logger
    ) -> ConnectorWorkerLease {
        let (leases, clock, groupLogger) = (leases, clock, logger)
        return ConnectorWorkerLease(
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
            fence: fence
        ) {
            var configuration = ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: [], logger: groupLogger)
            // A part stuck in a store call that never answers (a request PostgresNIO's pool lost
            // while the database was away) would keep the connector's worker from stopping
            // when its lease is lost, and from starting again: after 10 s it is cancelled.
            configuration.maximumGracefulShutdownDuration = .seconds(10)
            return ServiceGroup(configuration: configuration)
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
