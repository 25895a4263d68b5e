public import ConnectorDomain
public import ConnectorStore
public import Foundation
public import Logging
public import NeuronsSinks
public import ServiceLifecycle

/// Writes a connector's CSV snapshots: after each successful reconcile (``writeNow()``) and, for
/// real-time changes, at most every `interval` while changes keep arriving (SPEC §9).
public final class CSVSnapshots: Service, Sendable {
    let connector: String
    let store: any StateStore
    let writer: CSVSnapshotWriter
    let tracker: CSVChangeTracker
    let interval: TimeInterval
    let clock: any WallClock
    let logger: Logger

    /// Creates the snapshot writer of a connector.
    public init(
        connector: String, store: any StateStore, writer: CSVSnapshotWriter, tracker: CSVChangeTracker,
        interval: TimeInterval, clock: any WallClock, logger: Logger
    ) {
        self.connector = connector
        self.store = store
        self.writer = writer
        self.tracker = tracker
        self.interval = interval
        self.clock = clock
        self.logger = logger
    }

    /// Writes a snapshot of every present record now.
    /// - Returns: The file written.
    @discardableResult
    public func writeNow() async throws -> String {
        _ = tracker.takeDirty()
        let store = self.store
        let connector = self.connector
        let file = try await writer.write(at: clock.now) {
            AsyncThrowingStream { continuation in
                let task = Task {
                    do {
                        var after: String?
                        while true {
                            let page = try await store.presentUsers(connector: connector, after: after, limit: 1000)
                            guard let last = page.last else { break }
                            continuation.yield(page.map { ($0.userId, $0.recordJSON ?? "{}") })
                            after = last.userId
                        }
                        continuation.finish()
                    } catch {
                        continuation.finish(throwing: error)
                    }
                }
                continuation.onTermination = { _ in task.cancel() }
            }
        }
        logger.info("CSV snapshot written", metadata: ["connector": "\(connector)", "file": "\(file)"])
        return file
    }

    public func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown {
                    try await self.clock.sleep(until: self.clock.now.addingTimeInterval(self.interval))
                }
            } catch {
                return
            }
            if tracker.takeDirty() {
                do {
                    try await writeNow()
                } catch {
                    // Still due: try again after the next interval rather than waiting for another change.
                    tracker.markDirty()
                    logger.error(
                        "CSV snapshot failed; retrying after the interval",
                        metadata: ["connector": "\(connector)", "error": "\(error)"])
                }
            }
        }
    }
}
