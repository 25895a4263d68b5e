public import ConnectorDomain
public import Foundation
import Synchronization

/// A clock for tests that moves only when told to: sleepers wake when `advance` passes their
/// deadline, so schedules, backoff and rate-limit waits are tested without sleeping.
public final class ManualClock: WallClock {
    struct Sleeper {
        let id: Int
        let deadline: Date
        let continuation: CheckedContinuation<Void, any Error>
    }

    struct State {
        var now: Date
        var sleepers: [Sleeper] = []
        var nextId = 0
        var totalSleeps = 0
    }

    private let state: Mutex<State>

    /// Creates a clock at an instant.
    public init(now: Date) { state = Mutex(State(now: now)) }

    public var now: Date { state.withLock { $0.now } }

    /// Tasks waiting on this clock.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// Sleeps that had to wait so far.
    public var totalSleeps: Int { state.withLock { $0.totalSleeps } }

    /// The earliest deadline anyone waits for.
    public var nextDeadline: Date? { state.withLock { $0.sleepers.map(\.deadline).min() } }

    public func sleep(until deadline: Date) async throws {
        let id: Int? = state.withLock { state in
            guard deadline > state.now else { return nil }
            state.nextId += 1
            return state.nextId
        }
        guard let id else {
            try Task.checkCancellation()
            return
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Checked under the lock the cancellation handler takes too: a task cancelled before
                // its sleeper was noted (the handler found nothing to remove) must not wait.
                let outcome: Bool? = state.withLock { state in
                    if Task.isCancelled { return false }
                    if deadline <= state.now { return true }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    state.totalSleeps += 1
                    return nil
                }
                switch outcome {
                case true?: continuation.resume()
                case false?: continuation.resume(throwing: CancellationError())
                case nil: break
                }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            cancelled?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward and wakes every sleeper whose deadline has come.
    public func advance(to instant: Date) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = max(state.now, instant)
            let due = state.sleepers.filter { $0.deadline <= state.now }
            state.sleepers.removeAll { $0.deadline <= state.now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Moves time forward by an interval.
    public func advance(by seconds: TimeInterval) { advance(to: now.addingTimeInterval(seconds)) }

    /// Waits (in real time, briefly) until some task sleeps on this clock.
    public func waitForSleepers(_ count: Int = 1, timeout: TimeInterval = 90) async -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while sleeperCount < count, Date() < end, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
        return sleeperCount >= count
    }
}
