public import ConnectorDomain
public import ConnectorStore
public import Foundation
public import Logging
public import ServiceLifecycle

/// Runs a connector's worker parts only while this replica holds the connector's worker lease
/// (SPEC §10): every replica serves the hook listener and the admin API, exactly one at a time
/// applies events, reconciles on the schedule and forwards.
///
/// The lease lasts `leaseDuration` (10 s) and is renewed every `renewInterval` (3 s). A replica that
/// is not the holder looks again every `renewInterval`, so when the holder dies (`kill -9`, power
/// loss) or hangs, another takes over within `leaseDuration + renewInterval` (13 s). A holder that
/// cannot renew stops its parts before its lease can lapse: it never works next to the next holder.
/// A renewal may take the time left before the lease would lapse, less a second; one that does not
/// answer in that time counts as failed (a database that went away keeps calls waiting rather than
/// failing them), so this holds however the store fails, while a store that is only slow (a long
/// write ahead of the renewal) does not stop the parts.
/// On SQLite (one replica) the lease is always this process's, and a process restarted on the same
/// host takes over the lease of the one that died at once.
public struct ConnectorWorkerLease: Service {
    let connector: String
    let store: any WorkerLeases
    let holder: String
    let clock: any WallClock
    let logger: Logger
    let health: ConnectorHealthBoard
    let leaseDuration: TimeInterval
    let renewInterval: TimeInterval
    let onTakeover: @Sendable () async -> Void
    let fence: WorkerFenceHolder?
    let makeParts: @Sendable () -> ServiceGroup

    /// Creates the lease keeper.
    /// - Parameters:
    ///   - onTakeover: Runs when this replica takes the lease from another (crash recovery of the
    ///     previous holder's runs), before the parts start.
    ///   - fence: Told the lease while it is held (the applier's fencing token).
    ///   - makeParts: Builds the worker parts' group, afresh each time the lease is taken.
    public init(
        connector: String, store: any WorkerLeases, holder: String = ProcessIdentity.current.description,
        clock: any WallClock, logger: Logger, health: ConnectorHealthBoard, leaseDuration: TimeInterval = 10,
        renewInterval: TimeInterval = 3, onTakeover: @escaping @Sendable () async -> Void = {},
        fence: WorkerFenceHolder? = nil, makeParts: @escaping @Sendable () -> ServiceGroup
    ) {
        self.connector = connector
        self.store = store
        self.holder = holder
        self.clock = clock
        self.logger = logger
        self.health = health
        self.leaseDuration = leaseDuration
        self.renewInterval = renewInterval
        self.onTakeover = onTakeover
        self.fence = fence
        self.makeParts = makeParts
    }

    static var stopping: Bool { Task.isCancelled || Task.isShuttingDownGracefully }

    /// The pause before trying again after a failed renewal.
    static let retryPause: TimeInterval = 0.5
    /// How long before the lease would lapse the parts are stopped at the latest.
    static let safetyMargin: TimeInterval = 1

    public func run() async {
        var announcedStandby = false
        while !Self.stopping {
            let lease: WorkerLease
            do {
                let now = clock.now
                lease = try await claim(at: now)
                health.clear("lease")
            } catch {
                logger.error("cannot read the worker lease; trying again", metadata: ["error": "\(error)"])
                health.report("lease", .degraded(reason: "cannot read the worker lease: \(error)"))
                await pause(renewInterval)
                continue
            }
            guard lease.holder == holder else {
                if !announcedStandby {
                    logger.notice(
                        "another replica runs this connector's worker; standing by",
                        metadata: ["holder": "\(lease.holder)", "epoch": "\(lease.epoch)"])
                    announcedStandby = true
                }
                await pause(renewInterval)
                continue
            }
            announcedStandby = false
            logger.notice("this replica runs the connector's worker", metadata: ["epoch": "\(lease.epoch)"])
            fence?.set(WorkerFence(holder: holder, epoch: lease.epoch))
            await onTakeover()
            await work(from: lease)
            fence?.set(nil)
        }
    }

    /// Runs the parts while the lease is renewed; stops them when it cannot be, or at shutdown.
    func work(from lease: WorkerLease) async {
        let parts = makeParts()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await parts.run()
                } catch {
                    logger.error("the connector's worker parts stopped", metadata: ["error": "\(error)"])
                }
            }
            group.addTask {
                var renewedAt = clock.now
                var lost: String?
                var retrySoon = false
                while lost == nil {
                    // After a failed renewal, try again soon rather than after the full interval:
                    // one slow answer (a checkpoint) must not stop the parts.
                    // Renewals are spaced from when the last one was sent, not answered: a store
                    // that is slow every time still renews well within the lease.
                    await pause(
                        retrySoon ? Self.retryPause : max(0, renewInterval - clock.now.timeIntervalSince(renewedAt)))
                    if Self.stopping { break }
                    // A renewal may take the time left before the lease lapses, less a margin: a
                    // store that is only slow (one long write) does not stop the parts, and one
                    // that does not answer in that time stops them before the lease can lapse.
                    let now = clock.now
                    let left = leaseDuration - now.timeIntervalSince(renewedAt) - Self.safetyMargin
                    guard left > 0 else {
                        lost = "it could not be renewed before it would lapse"
                        break
                    }
                    do {
                        let renewed = try await claim(at: now, within: left)
                        if renewed.holder != holder {
                            lost = "another replica holds it now (epoch \(renewed.epoch))"
                        } else if renewed.epoch != lease.epoch {
                            // It lapsed (the store was away longer than the lease) and was taken
                            // again under a new epoch: the parts restart with the new fence, since
                            // every write under the old one is refused.
                            lost = "it lapsed and was taken again (epoch \(lease.epoch) → \(renewed.epoch))"
                        } else {
                            renewedAt = now
                        }
                        retrySoon = false
                    } catch {
                        // Tried again soon while there is time; stopped before the lease can lapse,
                        // since the next holder must not find us working.
                        retrySoon = true
                        if leaseDuration - clock.now.timeIntervalSince(renewedAt) - Self.safetyMargin <= Self.retryPause
                        {
                            lost = "it could not be renewed: \(error)"
                        }
                    }
                }
                if let lost {
                    fence?.set(nil)
                    logger.error("lost the worker lease: this replica stops working", metadata: ["reason": "\(lost)"])
                }
                await parts.triggerGracefulShutdown()
            }
            await group.waitForAll()
        }
        if Self.stopping {
            // Shutdown: hand the connector over at once instead of after the lease lapses.
            do {
                let (store, connector, holder) = (store, connector, holder)
                try await withStoreDeadline(renewInterval, clock: clock) {
                    try await store.releaseWorkerLease(connector: connector, holder: holder)
                }
            } catch {
                logger.warning(
                    "could not release the worker lease; another replica takes over when it lapses",
                    metadata: ["error": "\(error)"])
            }
        }
    }

    /// Claims or renews the lease; a store that does not answer within `seconds` (`renewInterval`
    /// unless given) counts as failing (a database that went away keeps calls waiting), so that a
    /// holder that cannot renew stops its parts before its lease can lapse.
    func claim(at now: Date, within seconds: TimeInterval? = nil) async throws -> WorkerLease {
        let (store, connector, holder, expiresAt) = (
            store, connector, holder, Timestamp(now.addingTimeInterval(leaseDuration))
        )
        return try await withStoreDeadline(seconds ?? renewInterval, clock: clock) {
            try await store.claimWorkerLease(
                connector: connector, holder: holder, at: Timestamp(now), expiresAt: expiresAt)
        }
    }

    private func pause(_ seconds: TimeInterval) async {
        try? await cancelWhenGracefulShutdown {
            try await clock.sleep(until: clock.now.addingTimeInterval(seconds))
        }
    }
}
