public import ConnectorDomain
import Foundation
import Synchronization

/// The simulated org: the seeded blueprint plus every change made since (an overlay), safe to use
/// from many requests at once. Mutations update timestamps as Okta does and emit System Log events.
public final class SimulatedOrg: Sendable {
    public let blueprint: OrgBlueprint
    let clock: any WallClock
    let state: Mutex<State>
    private let events: Mutex<[@Sendable ([OktaLogEvent]) -> Void]> = Mutex([])

    struct State {
        /// Users changed or created since generation, by index.
        var overlay: [Int: SimUser] = [:]
        /// Deleted user indices.
        var deleted: Set<Int> = []
        /// Indices `0..<userCount` exist (generated, then created).
        var userCount: Int
        /// Logins of overlay users that differ from the generated pattern.
        var logins: [String: Int] = [:]
        /// Every group, by index (`Everyone` included).
        var groups: [Int: SimGroup]
        /// The index the next created group gets (indices are never reused).
        var nextGroupIndex: Int
        /// The user index the next burst of sign-ins starts at.
        var signInCursor = 0
        /// Sign-in sessions recorded by bursts so far.
        var signInSessions = 0
    }

    /// An administrator who performs the control API's changes (the `actor` of their events).
    public let adminId: String

    /// Creates an org.
    /// - Parameters:
    ///   - blueprint: The seeded org.
    ///   - clock: Time for mutation timestamps and events.
    public init(blueprint: OrgBlueprint, clock: any WallClock = SystemWallClock()) {
        self.blueprint = blueprint
        self.clock = clock
        self.state = Mutex(
            State(
                userCount: blueprint.userCount,
                groups: Dictionary(uniqueKeysWithValues: blueprint.groups().map { ($0.index, $0) }),
                nextGroupIndex: OrgBlueprint.firstGeneratedGroupIndex + blueprint.groupCount))
        self.adminId = blueprint.ids.user(Int(Int32.max))
    }

    /// Registers a receiver of emitted System Log events.
    public func onEvents(_ receiver: @escaping @Sendable ([OktaLogEvent]) -> Void) {
        events.withLock { $0.append(receiver) }
    }

    // MARK: reading

    /// How many user indices exist (including deleted ones).
    public var userIndexCount: Int { state.withLock { $0.userCount } }

    /// The user at an index, or `nil` when deleted or out of range.
    public func user(at index: Int) -> SimUser? {
        state.withLock { state in Self.user(at: index, in: state, blueprint: blueprint) }
    }

    static func user(at index: Int, in state: State, blueprint: OrgBlueprint) -> SimUser? {
        guard index >= 0, index < state.userCount, !state.deleted.contains(index) else { return nil }
        if let changed = state.overlay[index] { return changed }
        return blueprint.user(at: index)
    }

    /// The status of a user without generating the whole user when it is unchanged.
    func status(at index: Int, in state: State) -> OktaUserStatus? {
        guard index >= 0, index < state.userCount, !state.deleted.contains(index) else { return nil }
        if let changed = state.overlay[index] { return changed.status }
        return blueprint.generatedStatus(at: index)
    }

    /// A user by id or login, as `GET /api/v1/users/{idOrLogin}` finds them.
    public func user(idOrLogin: String) -> SimUser? {
        state.withLock { state in
            if let index = blueprint.ids.userIndex(idOrLogin) {
                return Self.user(at: index, in: state, blueprint: blueprint)
            }
            let lowered = idOrLogin.lowercased()
            if let index = state.logins[lowered] { return Self.user(at: index, in: state, blueprint: blueprint) }
            if let index = blueprint.index(fromLogin: lowered), index < blueprint.userCount,
                let user = Self.user(at: index, in: state, blueprint: blueprint), user.login.lowercased() == lowered
            {
                return user
            }
            return nil
        }
    }

    /// Users from an index on whose status passes a test, up to a limit; and where to continue.
    /// - Returns: The users and the index after the last one looked at, `nil` at the end.
    public func users(
        from start: Int, limit: Int, status statusTest: (OktaUserStatus) -> Bool,
        where userTest: ((SimUser) -> Bool)? = nil
    ) -> (users: [SimUser], next: Int?) {
        state.withLock { state in
            var found: [SimUser] = []
            var index = max(0, start)
            while index < state.userCount, found.count < limit {
                defer { index += 1 }
                guard let status = status(at: index, in: state), statusTest(status) else { continue }
                guard let user = Self.user(at: index, in: state, blueprint: blueprint) else { continue }
                if let userTest, !userTest(user) { continue }
                found.append(user)
            }
            return (found, index < state.userCount ? index : nil)
        }
    }

    /// Users from an index on whose groups, direct apps and device count pass a test, up to a limit;
    /// only the matching users are generated in full.
    public func users(
        from start: Int, limit: Int, linkedTo test: (_ groups: [Int], _ directApps: [Int], _ deviceCount: Int) -> Bool
    ) -> (users: [SimUser], next: Int?) {
        state.withLock { state in
            var found: [SimUser] = []
            var index = max(0, start)
            while index < state.userCount, found.count < limit {
                defer { index += 1 }
                guard !state.deleted.contains(index) else { continue }
                if let changed = state.overlay[index] {
                    if test(changed.groups, changed.directApps, changed.devices.count) { found.append(changed) }
                    continue
                }
                guard index < blueprint.userCount else { continue }
                let links = blueprint.generatedLinks(at: index)
                guard test(links.groups, links.directApps, links.deviceCount) else { continue }
                found.append(blueprint.user(at: index))
            }
            return (found, index < state.userCount ? index : nil)
        }
    }

    /// Counts that benchmarks need to know the minimum calls of a reconcile.
    public struct Summary: Sendable, Codable {
        /// Present users by status.
        public var usersByStatus: [String: Int]
        /// Users assigned to each app (directly or through a group), by app id.
        public var usersPerApp: [String: Int]
        /// Members of each group, by group id (`Everyone` included).
        public var usersPerGroup: [String: Int]
        /// Devices linked to users.
        public var devices: Int
    }

    /// Counts over the whole org (scans every user).
    public func summary() -> Summary {
        var byStatus: [String: Int] = [:]
        var perApp: [String: Int] = [:]
        var perGroup: [String: Int] = [:]
        var devices = 0
        var next: Int? = 0
        while let from = next {
            let page = users(from: from, limit: 5000, status: { _ in true })
            for user in page.users {
                byStatus[user.status.rawValue, default: 0] += 1
                for entry in user.assignedApps { perApp[blueprint.ids.app(entry.app), default: 0] += 1 }
                for group in user.groups { perGroup[blueprint.ids.group(group), default: 0] += 1 }
                devices += user.devices.count
            }
            next = page.next
        }
        perGroup[blueprint.ids.group(OrgBlueprint.everyoneGroupIndex)] = byStatus.values.reduce(0, +)
        return Summary(usersByStatus: byStatus, usersPerApp: perApp, usersPerGroup: perGroup, devices: devices)
    }

    /// Every present user, for tests that compare the connector's state with the truth.
    public func allUsers() -> [SimUser] {
        var result: [SimUser] = []
        var next: Int? = 0
        while let start = next {
            let page = users(from: start, limit: 10_000, status: { _ in true })
            result += page.users
            next = page.next
        }
        return result
    }

    // MARK: mutations

    /// What the control API can do to a user's lifecycle.
    public enum LifecycleAction: String, Sendable, CaseIterable {
        case activate, reactivate, deactivate, suspend, unsuspend, lock, unlock
        case expirePassword = "expire_password"
        case resetPassword = "reset_password"
        case delete
    }

    /// Errors of mutations, answered as Okta errors by the control API.
    public enum MutationError: Error, Equatable {
        case notFound(String)
        case invalid(String)
    }

    /// Creates a user.
    /// - Parameters:
    ///   - profile: At least `login`; `email` defaults to the login.
    ///   - activate: `ACTIVE` at once, else `STAGED`.
    /// - Returns: The new user.
    @discardableResult
    public func createUser(profile: [String: JSONValue], activate: Bool) throws(MutationError) -> SimUser {
        guard let login = profile["login"]?.stringValue, !login.isEmpty else {
            throw .invalid("profile.login is required")
        }
        let now = Timestamp(clock.now)
        let created: SimUser = try state.withLock { state throws(MutationError) in
            if state.logins[login.lowercased()] != nil
                || (blueprint.index(fromLogin: login.lowercased()).map { $0 < blueprint.userCount } ?? false)
            {
                throw .invalid("login \(login) is already in use")
            }
            let index = state.userCount
            state.userCount += 1
            // A new user is in `Everyone` and, as generated users mostly are, in the first group.
            let groups = state.groups[0] == nil ? [] : [0]
            for group in groups + [OrgBlueprint.everyoneGroupIndex] {
                state.groups[group]?.lastMembershipUpdated = now
            }
            var ordered: [(key: String, value: JSONValue)] = [
                ("firstName", profile["firstName"] ?? .null), ("lastName", profile["lastName"] ?? .null),
                ("login", .string(login)), ("email", profile["email"] ?? .string(login)),
            ]
            for key in profile.keys.sorted() where !["firstName", "lastName", "login", "email"].contains(key) {
                ordered.append((key, profile[key]!))
            }
            let user = SimUser(
                index: index, id: blueprint.ids.user(index), status: activate ? .active : .staged, created: now,
                activated: activate ? now : nil, statusChanged: activate ? now : nil, lastLogin: nil, lastUpdated: now,
                passwordChanged: activate ? now : nil, typeId: blueprint.ids.userType(), profile: ordered,
                groups: groups,
                directApps: [], devices: [])
            state.overlay[index] = user
            state.logins[login.lowercased()] = index
            return user
        }
        var emitted = [event("user.lifecycle.create", user: created, at: now)]
        if activate { emitted.append(event("user.lifecycle.activate", user: created, at: now)) }
        emit(emitted)
        return created
    }

    /// Changes profile attributes (a `null` value clears one).
    @discardableResult
    public func updateProfile(id: String, changes: [String: JSONValue]) throws(MutationError) -> SimUser {
        let now = Timestamp(clock.now)
        var emailChanged = false
        let user = try mutate(id) { user throws(MutationError) in
            for (key, value) in changes.sorted(by: { $0.key < $1.key }) {
                if key == "login" {
                    throw .invalid("the simulator does not rename logins")
                }
                if key == "email", user.profileValue("email") != value { emailChanged = true }
                user.setProfile(key, value)
            }
            user.lastUpdated = now
        }
        var emitted = [event("user.account.update_profile", user: user, at: now)]
        // A new primary email is also logged on its own; the event is not eligible for event hooks.
        if emailChanged { emitted.append(event("user.account.update_primary_email", user: user, at: now)) }
        emit(emitted)
        return user
    }

    /// Moves a user through its lifecycle as Okta does, with the matching events.
    @discardableResult
    public func apply(_ action: LifecycleAction, to id: String) throws(MutationError) -> SimUser? {
        let now = Timestamp(clock.now)
        if action == .delete { return try delete(id: id, at: now) }
        var eventType: String?
        let user = try mutate(id) { user throws(MutationError) in
            let from = user.status
            func move(to status: OktaUserStatus, _ type: String?, allowedFrom: Set<OktaUserStatus>)
                throws(MutationError)
            {
                guard allowedFrom.contains(from) else {
                    throw .invalid("cannot \(action.rawValue) a user in status \(from.rawValue)")
                }
                user.status = status
                user.statusChanged = now
                user.lastUpdated = now
                eventType = type
            }
            switch action {
            case .activate:
                try move(to: .active, "user.lifecycle.activate", allowedFrom: [.staged, .deprovisioned, .provisioned])
                user.activated = now
                user.passwordChanged = now
            case .reactivate:
                try move(to: .provisioned, "user.lifecycle.reactivate", allowedFrom: [.provisioned, .deprovisioned])
            case .deactivate:
                guard from != .deprovisioned else { throw .invalid("the user is already deactivated") }
                try move(to: .deprovisioned, "user.lifecycle.deactivate", allowedFrom: Set(OktaUserStatus.allCases))
            case .suspend: try move(to: .suspended, "user.lifecycle.suspend", allowedFrom: [.active])
            case .unsuspend: try move(to: .active, "user.lifecycle.unsuspend", allowedFrom: [.suspended])
            case .lock:
                try move(to: .lockedOut, "user.account.lock", allowedFrom: [.active, .passwordExpired, .recovery])
            case .unlock: try move(to: .active, "user.account.unlock_by_admin", allowedFrom: [.lockedOut])
            case .expirePassword:
                // `user.account.expire_password` is not eligible for event hooks (SPEC §16): only a
                // reconcile sees this change.
                try move(
                    to: .passwordExpired, "user.account.expire_password", allowedFrom: [.active, .lockedOut, .recovery])
            case .resetPassword:
                try move(
                    to: .active, "user.account.reset_password",
                    allowedFrom: [.active, .passwordExpired, .recovery, .lockedOut])
                user.passwordChanged = now
            case .delete: break
            }
        }
        if let eventType { emit([event(eventType, user: user, at: now)]) }
        return user
    }

    private func delete(id: String, at now: Timestamp) throws(MutationError) -> SimUser? {
        guard var user = self.user(idOrLogin: id) else { throw .notFound(id) }
        var emitted: [OktaLogEvent] = []
        if user.status != .deprovisioned {
            // Okta deactivates before deleting.
            user = try apply(.deactivate, to: id) ?? user
        }
        state.withLock { state in
            state.deleted.insert(user.index)
            state.overlay[user.index] = nil
            state.logins[user.login.lowercased()] = nil
            // The user leaves its groups with it.
            for group in user.groups + [OrgBlueprint.everyoneGroupIndex] {
                state.groups[group]?.lastMembershipUpdated = now
            }
        }
        emitted.append(event("user.lifecycle.delete.initiated", user: user, at: now))
        emit(emitted)
        return nil
    }

    /// Assigns an app to a user directly.
    public func assignApp(userId: String, appIndex: Int) throws(MutationError) {
        guard NameCatalogue.apps.indices.contains(appIndex) else { throw .notFound("app \(appIndex)") }
        let now = Timestamp(clock.now)
        let user = try mutate(userId) { user throws(MutationError) in
            guard !user.directApps.contains(appIndex) else { throw .invalid("the app is already assigned") }
            user.directApps.append(appIndex)
            user.directApps.sort()
        }
        emit([event("application.user_membership.add", user: user, at: now, app: appIndex)])
    }

    /// Removes a direct app assignment.
    public func unassignApp(userId: String, appIndex: Int) throws(MutationError) {
        let now = Timestamp(clock.now)
        let user = try mutate(userId) { user throws(MutationError) in
            guard let position = user.directApps.firstIndex(of: appIndex) else {
                throw .notFound("direct assignment of app \(appIndex)")
            }
            user.directApps.remove(at: position)
        }
        emit([event("application.user_membership.remove", user: user, at: now, app: appIndex)])
    }

    /// Enrolls a device for a user.
    @discardableResult
    public func addDevice(
        userId: String, platform: String, displayName: String, osVersion: String?, model: String? = nil,
        manufacturer: String? = nil, serialNumber: String? = nil
    ) throws(MutationError) -> SimDevice {
        guard NameCatalogue.platforms.contains(platform) else {
            throw .invalid("platform must be one of \(NameCatalogue.platforms.joined(separator: ", "))")
        }
        let now = Timestamp(clock.now)
        var added: SimDevice?
        let user = try mutate(userId) { user throws(MutationError) in
            let used = Set(user.devices.map { $0.index % SimDevice.slotsPerUser })
            guard let slot = (0..<SimDevice.slotsPerUser).first(where: { !used.contains($0) }) else {
                throw .invalid("the simulator keeps at most \(SimDevice.slotsPerUser) devices per user")
            }
            let device = SimDevice(
                index: user.index * SimDevice.slotsPerUser + slot, status: "ACTIVE", platform: platform,
                displayName: displayName, manufacturer: manufacturer, model: model, osVersion: osVersion,
                serialNumber: serialNumber, created: now, lastUpdated: now)
            user.devices.append(device)
            added = device
        }
        emit([
            event("device.enrollment.create", user: user, at: now, device: added!),
            event("device.user.add", user: user, at: now, device: added!),
        ])
        return added!
    }

    /// Unlinks a device from its user.
    public func removeDevice(userId: String, deviceId: String) throws(MutationError) {
        guard let deviceIndex = blueprint.ids.deviceIndex(deviceId) else { throw .notFound(deviceId) }
        let now = Timestamp(clock.now)
        var removed: SimDevice?
        let user = try mutate(userId) { user throws(MutationError) in
            guard let position = user.devices.firstIndex(where: { $0.index == deviceIndex }) else {
                throw .notFound(deviceId)
            }
            removed = user.devices.remove(at: position)
        }
        emit([event("device.user.remove", user: user, at: now, device: removed!)])
    }

    /// Records a sign-in: `lastLogin` moves and `user.session.start` is emitted with the user as actor.
    public func recordLogin(userId: String) throws(MutationError) {
        let now = Timestamp(clock.now)
        let user = try mutate(userId) { user in user.lastLogin = now }
        emit([event("user.session.start", user: user, at: now)])
    }

    /// Applies a change to one user under the lock and returns the changed user.
    private func mutate(_ id: String, _ change: (inout SimUser) throws(MutationError) -> Void) throws(MutationError)
        -> SimUser
    {
        try state.withLock { state throws(MutationError) in
            guard var user = Self.user(id, in: state, blueprint: blueprint) else { throw .notFound(id) }
            try change(&user)
            state.overlay[user.index] = user
            return user
        }
    }

    /// A present user by id or login, under the lock.
    static func user(_ id: String, in state: State, blueprint: OrgBlueprint) -> SimUser? {
        var index = blueprint.ids.userIndex(id)
        if index == nil {
            index = state.logins[id.lowercased()] ?? blueprint.index(fromLogin: id.lowercased())
        }
        guard let index else { return nil }
        return user(at: index, in: state, blueprint: blueprint)
    }

    // MARK: events

    func emit(_ events: [OktaLogEvent]) {
        let receivers = self.events.withLock { $0 }
        for receiver in receivers { receiver(events) }
    }

    func event(
        _ type: String, user: SimUser, at now: Timestamp, app: Int? = nil, group: SimGroup? = nil,
        device: SimDevice? = nil
    ) -> OktaLogEvent {
        let userActor = OktaLogEvent.Actor(
            id: user.id, type: "User", alternateId: user.login,
            displayName: user.profileValue("displayName")?.stringValue ?? user.login)
        var targets: [OktaLogEvent.Actor] = []
        if let app {
            targets.append(
                .init(
                    id: blueprint.ids.app(app), type: "AppInstance", alternateId: NameCatalogue.apps[app].label,
                    displayName: NameCatalogue.apps[app].label))
        }
        if let device {
            targets.append(
                .init(
                    id: blueprint.ids.device(device.index), type: "Device", alternateId: device.displayName,
                    displayName: device.displayName))
        }
        targets.append(userActor)
        // Group membership events name the user, then the group.
        if let group { targets.append(groupTarget(group)) }
        let selfService = type.hasPrefix("user.session.") || type.hasPrefix("user.authentication.")
        return OktaLogEvent(
            uuid: UUID().uuidString.lowercased(), published: now, eventType: type,
            actor: selfService ? userActor : adminActor, target: selfService ? [] : targets, outcomeResult: "SUCCESS")
    }

    /// An event about a group alone (`group.lifecycle.*`), by the administrator.
    func event(_ type: String, group: SimGroup, at now: Timestamp) -> OktaLogEvent {
        OktaLogEvent(
            uuid: UUID().uuidString.lowercased(), published: now, eventType: type, actor: adminActor,
            target: [groupTarget(group)], outcomeResult: "SUCCESS")
    }

    /// The administrator who makes the control API's changes.
    private var adminActor: OktaLogEvent.Actor {
        OktaLogEvent.Actor(
            id: adminId, type: "User", alternateId: "admin@\(blueprint.domain)", displayName: "Okta Admin")
    }

    /// A group as a System Log target: Okta names no `alternateId` for groups.
    private func groupTarget(_ group: SimGroup) -> OktaLogEvent.Actor {
        OktaLogEvent.Actor(id: group.id, type: "UserGroup", alternateId: "unknown", displayName: group.name)
    }
}
