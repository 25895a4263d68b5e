import ConnectorDomain
import Foundation
import Synchronization

extension SimulatedOrg {
    /// Records up to `count` sign-in events in one step, for a burst of a compressed day: the active
    /// users sign in one after another (the next burst continues with the user after the last), each
    /// with a `user.session.start` followed by one or two `user.authentication.sso` into assigned
    /// apps, as real orgs log them. `lastLogin` moves for each; the events are emitted together.
    /// - Parameter count: The events to emit.
    /// - Returns: The events emitted: fewer than `count` only when no user is active.
    func recordSignIns(upTo count: Int) -> Int {
        guard count > 0 else { return 0 }
        let now = Timestamp(clock.now)
        let emitted: [OktaLogEvent] = state.withLock { state in
            var events: [OktaLogEvent] = []
            events.reserveCapacity(count)
            // Indices looked at since the last active user: a whole round of them means there is none.
            var idle = 0
            while events.count < count, idle < state.userCount {
                let index = state.signInCursor % state.userCount
                state.signInCursor = index + 1
                guard status(at: index, in: state) == .active,
                    var user = Self.user(at: index, in: state, blueprint: blueprint)
                else {
                    idle += 1
                    continue
                }
                idle = 0
                user.lastLogin = now
                state.overlay[index] = user
                events.append(event("user.session.start", user: user, at: now))
                // The session opens one or two apps, in turn.
                let apps = user.assignedApps
                let session = state.signInSessions
                state.signInSessions += 1
                for opened in 0..<(1 + session % 2) where events.count < count {
                    var signOn = event("user.authentication.sso", user: user, at: now)
                    if !apps.isEmpty {
                        let app = apps[(session + opened) % apps.count].app
                        signOn.target = [
                            .init(
                                id: blueprint.ids.app(app), type: "AppInstance",
                                alternateId: NameCatalogue.apps[app].label, displayName: NameCatalogue.apps[app].label)
                        ]
                    }
                    events.append(signOn)
                }
            }
            return events
        }
        if !emitted.isEmpty { emit(emitted) }
        return emitted.count
    }
}
