public import ConnectorDomain
public import ConnectorStore
public import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization

/// Watches a connector's share of Okta's daily event hook cap (SPEC §20): once a minute it reads
/// the hourly counts every replica keeps and logs a warning when the last 24 hours reach half of
/// `event_hook.daily_budget`, and one when the projection for the day passes the whole budget.
/// Each warning is logged once, and again only after the figure fell back (below 40 % of the
/// budget, or a projection under it), so a connector near the line does not repeat it each minute.
public final class HookEventBudgetWatch: Service, Sendable {
    let connector: String
    let budget: Int
    let eventTypes: HookEventTypes
    let store: any StateStore
    let clock: any WallClock
    let logger: Logger
    let interval: TimeInterval
    private let warned = Mutex<(half: Bool, projection: Bool)>((false, false))

    /// Creates the watch.
    public init(
        connector: String, budget: Int, eventTypes: HookEventTypes, store: any StateStore, clock: any WallClock,
        logger: Logger, interval: TimeInterval = 60
    ) {
        self.connector = connector
        self.budget = budget
        self.eventTypes = eventTypes
        self.store = store
        self.clock = clock
        self.logger = logger
        self.interval = interval
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown {
                await self.check()
                try await self.clock.sleep(seconds: self.interval)
            }
        }
    }

    /// One look at the figures.
    /// - Returns: The figures, or `nil` when the store did not answer.
    @discardableResult
    public func check() async -> HookEventBudget? {
        let figures: HookEventBudget
        do {
            figures = try await store.hookEventBudget(connector: connector, budget: budget, now: clock.now)
        } catch {
            logger.debug("cannot read the event hook counts", metadata: ["error": "\(error)"])
            return nil
        }
        let metadata: Logger.Metadata = [
            "connector": "\(connector)", "events_24h": "\(figures.last24h)", "projected_24h": "\(figures.projected24h)",
            "daily_budget": "\(budget)", "event_types": "\(eventTypes.rawValue)",
        ]
        let advice =
            eventTypes == .all
            ? "; event_hook.event_types: changes leaves sign-ins out of the hook (User.LastLogon then comes from the reconcile or System Log polling)"
            : ""
        let (half, projection) = warned.withLock { warned -> (Bool, Bool) in
            let half = !warned.half && figures.warning
            let projection = !warned.projection && figures.projected24h > budget
            if figures.warning { warned.half = true } else if figures.share < 0.4 { warned.half = false }
            if figures.projected24h > budget { warned.projection = true } else { warned.projection = false }
            return (half, projection)
        }
        if half {
            logger.warning(
                "event hook deliveries reached half of the daily budget in the last 24 hours: Okta's cap of 400,000 events a day is the whole org's, and nothing past it is delivered\(advice)",
                metadata: metadata)
        }
        if projection {
            logger.warning(
                "at the last hour's rate, event hook deliveries would pass the daily budget within 24 hours\(advice)",
                metadata: metadata)
        }
        return figures
    }
}
