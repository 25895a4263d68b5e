import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Foundation
import Logging
import OktaClient
import ServiceLifecycle
import Synchronization

/// The state of each connector's event hooks in Okta, for the console: fetched on a timer and
/// cached, never per page view (every fetch spends a call of Okta's event hooks bucket).
final class EventHookMonitor: Service {
    /// What the console shows of a connector's hooks.
    struct Observation: Sendable {
        /// The hooks whose URL path is the connector's hook path (only ACTIVE and VERIFIED ones
        /// receive events); empty when the org has none.
        var hooks: [OktaEventHook]
        /// Why Okta could not be asked, when it could not (the last good hooks are kept).
        var error: String?
        /// When Okta last answered.
        var checkedAt: Date?
        /// When it was last tried.
        var triedAt: Date
        /// When the connector does not take hook deliveries (`event_source: system_log`) while
        /// Okta still has an ACTIVE hook for its path: the command that deactivates it (SPEC §20).
        var deactivateCommand: String?
        /// The event source the connector had when its hooks were read: a reload that changes it
        /// makes the next read due at once.
        var eventSource: EventSource = .hooks
    }

    /// How often Okta is asked.
    let interval: TimeInterval
    let runtimes: @Sendable () -> [ConnectorRuntime]
    /// Where a warning is kept for `status`, which reads only the store.
    let store: (any StateStore)?
    let clock: any WallClock
    let logger: Logger
    private let observations = Mutex<[String: Observation]>([:])

    init(
        interval: TimeInterval = 300, runtimes: @escaping @Sendable () -> [ConnectorRuntime],
        store: (any StateStore)? = nil, clock: any WallClock, logger: Logger
    ) {
        self.interval = interval
        self.runtimes = runtimes
        self.store = store
        self.clock = clock
        self.logger = logger
    }

    /// The cached state of a connector's hooks; `nil` until the first fetch.
    func observation(_ slug: String) -> Observation? {
        observations.withLock { $0[slug] }
    }

    /// How often the monitor looks for connectors due for a read (new ones, after a reload, at once).
    static let tick: TimeInterval = 5

    func run() async throws {
        // A read waiting on Okta's rate limit, or the wait for the next tick, ends at shutdown.
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown {
                    for runtime in self.runtimes() where self.isDue(runtime.settings) {
                        await self.refresh(runtime)
                    }
                    try await self.clock.sleep(seconds: Self.tick)
                }
            } catch {
                return
            }
        }
    }

    /// Whether a connector's hooks were never read, were read under another event source (a
    /// reload changed it), or were last tried an interval ago.
    func isDue(_ settings: ConnectorSettings) -> Bool {
        guard let observation = observation(settings.slug) else { return true }
        return observation.eventSource != settings.eventSource
            || clock.now.timeIntervalSince(observation.triedAt) >= interval
    }

    /// Asks Okta now (after the console changed a hook) and caches the answer.
    func refresh(_ runtime: ConnectorRuntime) async {
        let settings = runtime.settings
        let now = clock.now
        do {
            let hooks = try await runtime.operations.eventHooks()
            var observation = Observation(
                hooks: hooks, checkedAt: now, triedAt: now, eventSource: settings.eventSource)
            if !settings.eventSource.takesHooks, hooks.contains(where: { $0.status == "ACTIVE" }) {
                observation.deactivateCommand = "okta-connector hooks deactivate --connector \"\(settings.name)\""
            }
            let before = observations.withLock { observations in
                defer { observations[settings.slug] = observation }
                return observations[settings.slug]?.deactivateCommand
            }
            if observation.deactivateCommand != before || isFirstRead(settings.slug) {
                await keep(observation.deactivateCommand, connector: settings.slug)
            }
            if let command = observation.deactivateCommand, before == nil {
                logger.warning(
                    "Okta still delivers to the hook of a connector that does not take hook deliveries: its path answers 404 and the events count against the org's daily hook cap",
                    metadata: [
                        "connector": "\(settings.slug)", "event_source": "\(settings.eventSource.rawValue)",
                        "command": "\(command) --config <file>",
                    ])
            }
        } catch {
            logger.notice(
                "the event hook state could not be read from Okta",
                metadata: ["connector": "\(settings.slug)", "error": "\(error)"])
            observations.withLock { observations in
                var observation =
                    observations[settings.slug] ?? Observation(hooks: [], error: nil, checkedAt: nil, triedAt: now)
                observation.error = "\(error)"
                observation.triedAt = now
                observation.eventSource = settings.eventSource
                observations[settings.slug] = observation
            }
        }
    }

    private let written = Mutex<Set<String>>([])

    /// Whether the store has not been told about the connector's hooks yet by this process.
    private func isFirstRead(_ slug: String) -> Bool { !written.withLock { $0.contains(slug) } }

    /// Writes the warning (or its absence) for `status`.
    private func keep(_ command: String?, connector slug: String) async {
        guard let store else { return }
        let warning = command.map {
            "Okta still has an ACTIVE event hook for this connector's path, which answers 404 since the connector "
                + "does not take hook deliveries; its events count against the org's daily hook cap. Deactivate it: "
                + "\($0) --config FILE"
        }
        do {
            try await store.recordHookWarning(connector: slug, warning: warning)
            written.withLock { _ = $0.insert(slug) }
        } catch {
            logger.notice(
                "cannot keep the hook warning in the store", metadata: ["connector": "\(slug)", "error": "\(error)"])
        }
    }
}
