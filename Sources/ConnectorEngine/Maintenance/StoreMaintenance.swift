public import ConnectorConfiguration
public import ConnectorDomain
public import ConnectorStore
import Foundation
public import Logging
public import ServiceLifecycle

/// Keeps the store healthy over years (SPEC §10, §11): at start, runs left `running` by a process
/// that died are marked `interrupted` and their staging removed; then, every `prune_interval`,
/// applied events and delivery ids past the deduplication window, failed events, dead letters and
/// runs past their horizons are deleted and the space given back to the file system.
public struct StoreMaintenance: Service {
    let store: any StateStore
    let retention: RetentionSettings
    let clock: any WallClock
    let logger: Logger

    /// Creates the service.
    public init(store: any StateStore, retention: RetentionSettings, clock: any WallClock, logger: Logger) {
        self.store = store
        self.retention = retention
        self.clock = clock
        self.logger = logger
    }

    /// The horizons in the store's units.
    public var horizons: RetentionHorizons {
        func milliseconds(_ seconds: Double) -> Int64 {
            // Configuration values are bounded at load; clamp anyway, never trap on a conversion.
            Int64(min(max(seconds, 0), 100 * 365 * 86_400) * 1000)
        }
        return RetentionHorizons(
            dedupeWindow: milliseconds(retention.dedupeWindow), failedEvents: milliseconds(retention.failedEvents),
            deadLetters: milliseconds(retention.deadLetters), runs: milliseconds(retention.runs),
            keepRuns: retention.keepRuns)
    }

    /// Marks runs of dead processes `interrupted` (crash recovery).
    /// - Returns: The runs marked.
    @discardableResult
    public func recoverAbandonedRuns() async throws -> [Int64] {
        let runs = try await store.interruptAbandonedRuns(at: Timestamp(clock.now))
        if !runs.isEmpty {
            logger.warning(
                "runs left running by a process that stopped are marked interrupted; they removed nothing",
                metadata: ["runs": "\(runs.map(String.init).joined(separator: ","))"])
        }
        return runs
    }

    /// One pruning pass.
    @discardableResult
    public func prune() async throws -> PruneCounts {
        let counts = try await store.prune(horizons, now: Timestamp(clock.now))
        if counts.total > 0 {
            logger.info(
                "store pruned",
                metadata: [
                    "applied_events": "\(counts.appliedEvents)", "deliveries": "\(counts.deliveries)",
                    "failed_events": "\(counts.failedEvents)", "dead_letters": "\(counts.deadLetters)",
                    "runs": "\(counts.runs)", "reclaimed_pages": "\(counts.reclaimedPages)",
                ])
        }
        return counts
    }

    public func run() async throws {
        do {
            try await recoverAbandonedRuns()
        } catch {
            logger.error("could not check for interrupted runs", metadata: ["error": "\(error)"])
        }
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                try await prune()
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                logger.error("pruning the store failed; trying again later", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown {
                try await clock.sleep(until: clock.now.addingTimeInterval(retention.pruneInterval))
            }
        }
    }
}
