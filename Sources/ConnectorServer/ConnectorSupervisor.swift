public import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Foundation
import Logging
public import ServiceLifecycle
import Synchronization

/// Runs each connector's services (applier, scheduler, forwarder, CSV snapshots) as a group of its
/// own, so that a configuration reload can add, remove, restart, activate or deactivate connectors
/// while the listener keeps serving (SPEC §3). In-flight work of a stopped connector finishes first:
/// its services stop gracefully, and every write is one transaction.
public final class ConnectorSupervisor: Service, Sendable {
    struct Running: Sendable {
        let runtime: ConnectorRuntime
        let fingerprint: String
        let group: ServiceGroup
        let task: Task<Void, Never>
    }

    let build: @Sendable (ConnectorSettings) throws -> (ConnectorRuntime, [any Service])
    let gate: RunGate
    let logger: Logger
    private let running = Mutex<[String: Running]>([:])
    private let initial: [ConnectorSettings]
    private let changes = Mutex<Task<Void, any Error>?>(nil)

    init(
        initial: [ConnectorSettings], gate: RunGate, logger: Logger,
        build: @escaping @Sendable (ConnectorSettings) throws -> (ConnectorRuntime, [any Service])
    ) {
        self.initial = initial
        self.gate = gate
        self.logger = logger
        self.build = build
    }

    /// The runtimes of the connectors running now.
    public var runtimes: [ConnectorRuntime] {
        running.withLock { $0.values.map(\.runtime) }.sorted { $0.settings.slug < $1.settings.slug }
    }

    public func run() async throws {
        try await apply(initial)
        try? await gracefulShutdown()
        await stopAll()
    }

    /// Brings the running connectors in line with a configuration.
    public func apply(_ connectors: [ConnectorSettings]) async throws {
        let wanted = Dictionary(connectors.map { ($0.slug, $0) }, uniquingKeysWith: { first, _ in first })
        let current = running.withLock { $0 }
        for (slug, old) in current where wanted[slug]?.fingerprint != old.fingerprint {
            await stop(slug, reason: wanted[slug] == nil ? "removed" : "changed")
        }
        for connector in connectors where running.withLock({ $0[connector.slug] }) == nil {
            let (runtime, services) = try build(connector)
            let group = ServiceGroup(
                configuration: .init(
                    services: services.map { .init(service: $0) }, gracefulShutdownSignals: [], logger: logger))
            let task = Task { _ = try? await group.run() }
            running.withLock {
                $0[connector.slug] = Running(
                    runtime: runtime, fingerprint: connector.fingerprint, group: group, task: task)
            }
            let wasInactive = current[connector.slug].map { !$0.runtime.settings.active } ?? false
            logger.notice(
                "connector running", metadata: ["connector": "\(connector.slug)", "active": "\(connector.active)"])
            if wasInactive, connector.active {
                // Made active again: a catch-up reconcile (SPEC §2).
                Task { await self.reconcile(runtime, trigger: .reactivation) }
            }
        }
    }

    /// Runs one reconcile outside the schedule, unless one is running.
    func reconcile(_ runtime: ConnectorRuntime, trigger: RunTrigger) async {
        guard gate.tryEnter(runtime.settings.slug) else { return }
        defer { gate.leave(runtime.settings.slug) }
        do {
            let record = try await runtime.reconciler.run(ReconcileOptions(trigger: trigger))
            if record.outcome == .succeeded, let snapshots = runtime.snapshots { try await snapshots.writeNow() }
        } catch {
            logger.error("reconcile failed", metadata: ["connector": "\(runtime.settings.slug)", "error": "\(error)"])
        }
    }

    private func stop(_ slug: String, reason: String) async {
        guard let entry = running.withLock({ $0.removeValue(forKey: slug) }) else { return }
        logger.notice("connector stopping", metadata: ["connector": "\(slug)", "reason": "\(reason)"])
        await entry.group.triggerGracefulShutdown()
        // When the process's shutdown bound escalates to cancellation, it reaches the connector's group too.
        await withTaskCancellationHandler {
            await entry.task.value
        } onCancel: {
            entry.task.cancel()
        }
    }

    private func stopAll() async {
        for slug in running.withLock({ Array($0.keys) }) { await stop(slug, reason: "shutdown") }
    }
}
