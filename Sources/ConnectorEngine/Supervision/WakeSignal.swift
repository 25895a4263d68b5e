public import ConnectorDomain
public import Foundation
import ServiceLifecycle
import Synchronization

/// A wake-up call for a service loop that otherwise waits for a deadline: `signal()` from anywhere,
/// `wait(until:clock:)` in the loop. A signal sent while nobody waits is kept (one), so none is lost
/// between a pass and the next wait.
public final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: (id: Int, continuation: CheckedContinuation<Bool, Never>)?
        var nextId = 0
    }

    private let state = Mutex(State())

    /// Creates a signal.
    public init() {}

    /// Wakes the waiter, or the next one to wait.
    public func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter.continuation
            }
            state.pending = true
            return nil
        }
        waiter?.resume(returning: true)
    }

    /// Waits for a signal, cancellation (graceful shutdown included) or the deadline, whichever is first.
    /// - Returns: Whether a signal ended the wait.
    @discardableResult
    public func wait(until deadline: Date?, clock: any WallClock) async -> Bool {
        if state.withLock({ state in
            defer { state.pending = false }; return state.pending
        }) {
            return true
        }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.waitForSignal() }
            group.addTask {
                if let deadline {
                    try? await clock.sleep(until: deadline)
                } else {
                    // No deadline: only a signal or cancellation ends the wait.
                    try? await Task.sleep(for: .seconds(86_400 * 365))
                }
                return false
            }
            // The first to finish ends the wait; a signal that raced it still counts.
            var signalled = false
            for await result in group {
                signalled = signalled || result
                group.cancelAll()
            }
            return signalled
        }
    }

    /// Waits for a signal; returns `false` when cancelled first.
    private func waitForSignal() async -> Bool {
        let id = state.withLock { state -> Int in
            state.nextId += 1
            return state.nextId
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let resumeWith = state.withLock { state -> Bool? in
                    if Task.isCancelled { return false }
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    state.waiter = (id, continuation)
                    return nil
                }
                if let resumeWith { continuation.resume(returning: resumeWith) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                guard let waiter = state.waiter, waiter.id == id else { return nil }
                state.waiter = nil
                return waiter.continuation
            }
            waiter?.resume(returning: false)
        }
    }
}
