public import ConnectorDomain
public import Foundation
public import OktaClient
import Synchronization

/// Okta as the engine sees it (``OktaDirectory``), held in memory: users, their apps and devices,
/// scripted failures and counted calls, without sockets. The applier's and the reconciler's
/// decisions are tested against it; the socket-level suites test ``OktaAPIClient`` itself.
public final class InMemoryOkta: OktaDirectory {
    /// The endpoint names ``OktaAPIClient`` counts calls under (and that failures are scripted for).
    public enum Endpoint {
        public static let listUsers = "GET /api/v1/users"
        public static let user = "GET /api/v1/users/{id}"
        public static let appLinks = "GET /api/v1/users/{id}/appLinks"
        public static let devices = "GET /api/v1/users/{id}/devices"
        public static let apps = "GET /api/v1/apps"
        public static let appUsers = "GET /api/v1/apps/{id}/users"
        public static let listDevices = "GET /api/v1/devices"
        public static let userGroups = "GET /api/v1/users/{id}/groups"
        public static let groups = "GET /api/v1/groups"
        public static let groupUsers = "GET /api/v1/groups/{id}/users"
        public static let systemLog = "GET /api/v1/logs"
    }

    struct State {
        var users: [String: OktaUser] = [:]
        /// Ids in the order the listing returns them.
        var order: [String] = []
        var appLinks: [String: [OktaAppLink]] = [:]
        var devices: [String: [OktaUserDevice]] = [:]
        /// The groups of each user (Everyone is added when read).
        var groups: [String: [OktaGroup]] = [:]
        /// Every group the org has had: a group without members still exists.
        var allGroups: [String: OktaGroup] = [:]
        var missingScopes: Set<String> = []
        var classic = false
        /// Errors to answer, by endpoint, in order, before answering normally again.
        var failures: [String: [OktaError]] = [:]
        var counts = OktaCallStats.Counts()
        var systemLog: [SystemLogPage] = []
        var lastAccepted: Date?
        /// What ``clockOffset`` answers: Okta's clock minus the test's (in step unless a test says).
        var clockOffset: Double? = 0
    }

    private let state = Mutex(State())
    public let limiter: OktaRateLimiter
    public let pause: OktaCredentialPause
    let clock: any WallClock
    /// Users a listing page holds at most (Okta's `limit`, lowered to make several pages).
    public let pageSize: Int

    /// An empty org.
    /// - Parameters:
    ///   - pageSize: Users a listing page holds at most.
    ///   - clock: The clock of the rate limiter.
    public init(pageSize: Int = 200, clock: any WallClock = SystemWallClock()) {
        self.pageSize = pageSize
        self.clock = clock
        limiter = OktaRateLimiter(share: 1, clock: clock)
        pause = OktaCredentialPause()
    }

    // MARK: - The org

    /// Adds or replaces a user, with the apps and devices its refresh reads.
    public func put(
        _ user: OktaUser, apps: [OktaAppLink] = [], devices: [OktaUserDevice] = [], groups: [OktaGroup] = []
    ) {
        state.withLock { state in
            if state.users[user.id] == nil { state.order.append(user.id) }
            state.users[user.id] = user
            state.appLinks[user.id] = apps
            state.devices[user.id] = devices
            state.groups[user.id] = groups
            for group in groups { state.allGroups[group.id] = group }
        }
    }

    /// Replaces the groups of a user (a membership change in the org).
    public func setGroups(_ userId: String, _ groups: [OktaGroup]) {
        state.withLock { state in
            state.groups[userId] = groups
            for group in groups { state.allGroups[group.id] = group }
        }
    }

    /// Makes ``missingScopes()`` answer these (an OAuth app without an optional scope).
    public func setMissingScopes(_ scopes: Set<String>) { state.withLock { $0.missingScopes = scopes } }

    /// The `BUILT_IN` group every user is a member of.
    public static let everyone = OktaGroup(id: "00gEveryone", type: "BUILT_IN", name: "Everyone")

    /// Deletes a user: reading it answers `404 E0000007` from now on.
    public func delete(_ id: String) {
        state.withLock { state in
            state.users[id] = nil
            state.order.removeAll { $0 == id }
        }
    }

    /// A user as the org holds it now.
    public func user(_ id: String) -> OktaUser? { state.withLock { $0.users[id] } }

    /// Makes the next `times` calls of an endpoint fail with `error`.
    public func fail(_ endpoint: String, with error: OktaError, times: Int = 1) {
        state.withLock { $0.failures[endpoint, default: []].append(contentsOf: repeatElement(error, count: times)) }
    }

    /// The System Log pages polling reads, in order (then empty pages).
    public func setSystemLog(_ pages: [SystemLogPage]) { state.withLock { $0.systemLog = pages } }

    /// Calls made to an endpoint so far.
    public func calls(_ endpoint: String) -> Int { state.withLock { $0.counts.calls[endpoint] ?? 0 } }

    /// A user with the fields the mapping reads.
    public static func user(
        _ id: String, status: OktaUserStatus = .active,
        lastUpdated: Timestamp = Timestamp(millisecondsSinceEpoch: 1_780_000_000_000),
        title: String = "Engineer"
    ) -> OktaUser {
        OktaUser(
            id: id, status: status.rawValue, created: Timestamp(millisecondsSinceEpoch: 1_760_000_000_000),
            lastUpdated: lastUpdated,
            profile: [
                "login": .string("\(id)@example.com"), "email": .string("\(id)@example.com"),
                "firstName": .string("F\(id)"), "lastName": .string("L\(id)"), "title": .string(title),
            ])
    }

    // MARK: - OktaDirectory

    /// Counts a call and answers its scripted failure, if any.
    private func call(_ endpoint: String) throws(OktaError) {
        let failure = state.withLock { state -> OktaError? in
            state.counts.calls[endpoint, default: 0] += 1
            guard var queued = state.failures[endpoint], !queued.isEmpty else {
                state.counts.byStatus["\(endpoint) 200", default: 0] += 1
                state.lastAccepted = clock.now
                return nil
            }
            let error = queued.removeFirst()
            state.failures[endpoint] = queued
            if case .rateLimited = error { state.counts.tooManyRequests += 1 }
            return error
        }
        if let failure { throw failure }
    }

    public func listUserPages(statuses: [OktaUserStatus], limit: Int) -> OktaUserPages {
        let size = min(limit, pageSize)
        let selected = Set(statuses.map(\.rawValue))
        // Read when the listing starts, as Okta's cursor is.
        let users = state.withLock { state in state.order.compactMap { state.users[$0] } }
            .filter { selected.contains($0.status) }
        return OktaPageSequence { index in
            // An empty org still answers one (empty) page.
            guard index == 0 || index * size < users.count else { return nil }
            try self.call(Endpoint.listUsers)
            let page = Array(users[min(index * size, users.count)..<min((index + 1) * size, users.count)])
            let body = try JSONCoding.encoder().encode(page)
            return try OktaUserPage(parsing: [UInt8](body))
        }
    }

    public func user(id: String) async throws -> OktaUser {
        try call(Endpoint.user)
        guard let user = state.withLock({ $0.users[id] }) else { throw OktaError.notFound(endpoint: Endpoint.user) }
        return user
    }

    public func appLinks(userId: String) async throws -> [OktaAppLink] {
        try call(Endpoint.appLinks)
        guard let links = state.withLock({ $0.users[userId] == nil ? nil : $0.appLinks[userId] ?? [] }) else {
            throw OktaError.notFound(endpoint: Endpoint.appLinks)
        }
        return links
    }

    public func userDevices(userId: String) async throws -> [OktaUserDevice] {
        try call(Endpoint.devices)
        guard let devices = state.withLock({ $0.users[userId] == nil ? nil : $0.devices[userId] ?? [] }) else {
            throw OktaError.notFound(endpoint: Endpoint.devices)
        }
        return devices
    }

    public func userGroups(userId: String) async throws -> [OktaGroup] {
        try call(Endpoint.userGroups)
        guard let groups = state.withLock({ $0.users[userId] == nil ? nil : $0.groups[userId] ?? [] }) else {
            throw OktaError.notFound(endpoint: Endpoint.userGroups)
        }
        return [Self.everyone] + groups
    }

    public func listGroups() -> OktaPages<OktaGroup> {
        let groups = state.withLock { state in
            [Self.everyone] + state.allGroups.values.sorted { $0.id < $1.id }
        }
        return OktaPageSequence { index in
            guard index == 0 else { return nil }
            try self.call(Endpoint.groups)
            return groups
        }
    }

    public func groupMemberIds(groupId: String) -> OktaIdPages {
        let ids = state.withLock { state in
            state.order.filter { id in
                groupId == Self.everyone.id || state.groups[id, default: []].contains { $0.id == groupId }
            }
        }
        return OktaPageSequence { index in
            guard index == 0 else { return nil }
            try self.call(Endpoint.groupUsers)
            return ids
        }
    }

    public func missingScopes() async -> Set<String> { state.withLock { $0.missingScopes } }

    /// Makes the org a Classic Engine org (no Devices API).
    public func setClassic(_ classic: Bool) { state.withLock { $0.classic = classic } }

    public func isClassicEngine() async -> Bool { state.withLock { $0.classic } }

    public func listApps() -> OktaPages<OktaApplication> {
        let apps = state.withLock { state in
            Set(state.appLinks.values.joined().compactMap(\.appInstanceId)).sorted().map { id in
                OktaApplication(
                    id: id, label: state.appLinks.values.joined().first { $0.appInstanceId == id }?.label,
                    status: "ACTIVE")
            }
        }
        return OktaPageSequence { index in
            guard index == 0 else { return nil }
            try self.call(Endpoint.apps)
            return apps
        }
    }

    public func appUserIds(appId: String) -> OktaIdPages {
        let ids = state.withLock { state in
            state.order.filter { id in state.appLinks[id, default: []].contains { $0.appInstanceId == appId } }
        }
        return OktaPageSequence { index in
            guard index == 0 else { return nil }
            try self.call(Endpoint.appUsers)
            return ids
        }
    }

    public func listDevices() -> OktaPages<OktaDeviceWithUsers> {
        let devices = state.withLock { state in
            var byId: [String: OktaDeviceWithUsers] = [:]
            var order: [String] = []
            for userId in state.order {
                for link in state.devices[userId, default: []] {
                    let id = link.device.id
                    if byId[id] == nil {
                        byId[id] = OktaDeviceWithUsers(device: link.device, userIds: [])
                        order.append(id)
                    }
                    byId[id]?.userIds.append(userId)
                }
            }
            return order.compactMap { byId[$0] }
        }
        return OktaPageSequence { index in
            guard index == 0 else { return nil }
            try self.call(Endpoint.listDevices)
            return devices
        }
    }

    public func systemLogPollingURL(since: Timestamp, eventTypes: [String], limit: Int) -> String {
        "memory:/api/v1/logs?page=0"
    }

    public func systemLogPage(url: String) async throws -> SystemLogPage {
        try call(Endpoint.systemLog)
        let index = Int(url.split(separator: "=").last ?? "0") ?? 0
        return state.withLock { state in
            // Past the last page: nothing new yet, the same link again (as a polling stream does).
            guard index < state.systemLog.count else { return SystemLogPage(events: [], next: url) }
            var page = state.systemLog[index]
            page.next = "memory:/api/v1/logs?page=\(index + 1)"
            return page
        }
    }

    public var callCounts: OktaCallStats.Counts { state.withLock { $0.counts } }

    public var lastAcceptedCall: Date? { state.withLock { $0.lastAccepted } }

    /// Okta's clock minus the test's, as a test set it (``setClockOffset(_:)``).
    public var clockOffset: Double? { state.withLock { $0.clockOffset } }

    /// Sets what ``clockOffset`` answers.
    public func setClockOffset(_ seconds: Double?) { state.withLock { $0.clockOffset = seconds } }

    public func probeCredentials() async throws {
        try pause.admit(now: clock.now)
        do {
            try call(Endpoint.listUsers)
            _ = pause.release()
        } catch {
            if case .invalidCredentials = error { _ = pause.engage(reason: error.description, now: clock.now) }
            throw error
        }
    }
}
