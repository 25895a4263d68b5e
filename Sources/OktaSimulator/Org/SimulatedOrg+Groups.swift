import ConnectorDomain
import Foundation
import Synchronization

/// The org's groups: reading them and their members, creating and deleting them, and changing
/// memberships, with the System Log events Okta writes for each change.
extension SimulatedOrg {
    // MARK: reading

    /// Every group in Okta's listing order: `Everyone` first, then by creation.
    public func groups() -> [SimGroup] {
        state.withLock { state in Array(state.groups.values) }.sorted {
            Self.listingOrder($0.index) < Self.listingOrder($1.index)
        }
    }

    /// Where a group index comes in the listing: `Everyone` first, then by index (creation order).
    static func listingOrder(_ index: Int) -> Int { index == OrgBlueprint.everyoneGroupIndex ? -1 : index }

    /// A group by id.
    public func group(id: String) -> SimGroup? {
        guard let index = blueprint.ids.groupIndex(id) else { return nil }
        return group(at: index)
    }

    /// A group by index.
    public func group(at index: Int) -> SimGroup? {
        state.withLock { $0.groups[index] }
    }

    /// `Everyone`, the built-in group of every user.
    public var everyoneGroup: SimGroup { group(at: OrgBlueprint.everyoneGroupIndex)! }

    /// Every group a user is a member of, `Everyone` first, as `GET /api/v1/users/{id}/groups` lists
    /// them; `nil` when there is no such user.
    /// - Parameter userId: The user's id or login.
    public func groups(ofUser userId: String) -> [SimGroup]? {
        state.withLock { state -> [SimGroup]? in
            guard let user = Self.user(userId, in: state, blueprint: blueprint) else { return nil }
            return ([OrgBlueprint.everyoneGroupIndex] + user.groups).compactMap { state.groups[$0] }
        }
    }

    /// Members of a group from a user index on, up to a limit; and where to continue. Members of
    /// every status are listed; `nil` when there is no such group.
    public func members(ofGroup groupIndex: Int, from start: Int, limit: Int) -> (users: [SimUser], next: Int?)? {
        guard group(at: groupIndex) != nil else { return nil }
        if groupIndex == OrgBlueprint.everyoneGroupIndex {
            return users(from: start, limit: limit, status: { _ in true })
        }
        return users(from: start, limit: limit) { groups, _, _ in groups.contains(groupIndex) }
    }

    /// Every member of a group, for tests that compare a connector's view with the truth.
    public func allMembers(ofGroup groupIndex: Int) -> [SimUser] {
        var result: [SimUser] = []
        var next: Int? = 0
        while let start = next, let page = members(ofGroup: groupIndex, from: start, limit: 10_000) {
            result += page.users
            next = page.next
        }
        return result
    }

    /// How many members each group has, by index (scans every user).
    public func memberCounts() -> [Int: Int] {
        var counts: [Int: Int] = [:]
        var next: Int? = 0
        var everyone = 0
        while let start = next {
            let page = users(from: start, limit: 10_000) { groups, _, _ in
                everyone += 1
                for group in groups { counts[group, default: 0] += 1 }
                return false
            }
            next = page.next
        }
        return state.withLock { state in
            var result: [Int: Int] = [:]
            for index in state.groups.keys { result[index] = counts[index] ?? 0 }
            result[OrgBlueprint.everyoneGroupIndex] = everyone
            return result
        }
    }

    // MARK: changes

    /// Creates a group. Okta keeps the names of `OKTA_GROUP`s unique, but an imported `APP_GROUP`
    /// may have the name of any other group: that is how a name comes to stand for several groups.
    /// - Parameters:
    ///   - name: The group's `profile.name`.
    ///   - description: Its `profile.description`.
    ///   - type: `OKTA_GROUP` or `APP_GROUP` (`BUILT_IN` groups are Okta's own).
    /// - Returns: The new group.
    @discardableResult
    public func createGroup(name: String, description: String? = nil, type: SimGroup.GroupType = .oktaGroup)
        throws(MutationError) -> SimGroup
    {
        guard !name.isEmpty else { throw .invalid("profile.name is required") }
        guard type != .builtIn else { throw .invalid("BUILT_IN groups are Okta's own") }
        let now = Timestamp(clock.now)
        let created: SimGroup = try state.withLock { state throws(MutationError) in
            if type == .oktaGroup,
                state.groups.values.contains(where: {
                    $0.type == .oktaGroup && $0.name.lowercased() == name.lowercased()
                })
            {
                throw .invalid("name: An object with this field already exists in the current organization")
            }
            let index = state.nextGroupIndex
            state.nextGroupIndex += 1
            var group = SimGroup(
                index: index, id: blueprint.ids.group(index), type: type, name: name, description: description,
                created: now, lastUpdated: now, lastMembershipUpdated: now)
            if type == .appGroup {
                var random = SplitMix64(seed: blueprint.seed, stream: 7, index: index)
                let guid = (0..<16).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                group.directory = SimGroup.DirectoryProfile(
                    samAccountName: name, dn: "CN=\(name),OU=Groups,DC=corp,DC=example",
                    windowsDomainQualifiedName: "CORP\\\(name)", externalId: Data(guid).base64EncodedString())
            }
            state.groups[index] = group
            return group
        }
        emit([event("group.lifecycle.create", group: created, at: now)])
        return created
    }

    /// Deletes a group: its members leave it (without membership events, as in Okta, which logs the
    /// deletion alone).
    /// - Parameter id: The group's id.
    public func deleteGroup(id: String) throws(MutationError) {
        guard let index = blueprint.ids.groupIndex(id) else { throw .notFound(id) }
        let now = Timestamp(clock.now)
        let deleted: SimGroup = try state.withLock { state throws(MutationError) in
            guard let group = state.groups[index] else { throw .notFound(id) }
            guard group.type != .builtIn else { throw .invalid("\(group.name) is built in and cannot be deleted") }
            state.groups[index] = nil
            for userIndex in 0..<state.userCount where !state.deleted.contains(userIndex) {
                if var user = state.overlay[userIndex] {
                    if let position = user.groups.firstIndex(of: index) {
                        user.groups.remove(at: position)
                        state.overlay[userIndex] = user
                    }
                } else if userIndex < blueprint.userCount,
                    blueprint.generatedLinks(at: userIndex).groups.contains(index)
                {
                    var user = blueprint.user(at: userIndex)
                    user.groups.removeAll { $0 == index }
                    state.overlay[userIndex] = user
                }
            }
            return group
        }
        emit([event("group.lifecycle.delete", group: deleted, at: now)])
    }

    /// Adds a user to a group (a group that assigns apps assigns them to the user).
    public func addToGroup(userId: String, groupIndex: Int) throws(MutationError) {
        let now = Timestamp(clock.now)
        let (user, group) = try changeMembership(userId: userId, groupIndex: groupIndex, at: now) {
            groups throws(MutationError) in
            guard !groups.contains(groupIndex) else { throw .invalid("already a member") }
            groups.append(groupIndex)
            groups.sort()
        }
        emit([event("group.user_membership.add", user: user, at: now, group: group)])
    }

    /// Adds a user to a group.
    /// - Parameters:
    ///   - userId: The user's id or login.
    ///   - groupId: The group's id.
    public func addToGroup(userId: String, groupId: String) throws(MutationError) {
        guard let index = blueprint.ids.groupIndex(groupId) else { throw .notFound(groupId) }
        try addToGroup(userId: userId, groupIndex: index)
    }

    /// Removes a user from a group.
    public func removeFromGroup(userId: String, groupIndex: Int) throws(MutationError) {
        let now = Timestamp(clock.now)
        let (user, group) = try changeMembership(userId: userId, groupIndex: groupIndex, at: now) {
            groups throws(MutationError) in
            guard let position = groups.firstIndex(of: groupIndex) else { throw .notFound("membership") }
            groups.remove(at: position)
        }
        emit([event("group.user_membership.remove", user: user, at: now, group: group)])
    }

    /// Removes a user from a group.
    /// - Parameters:
    ///   - userId: The user's id or login.
    ///   - groupId: The group's id.
    public func removeFromGroup(userId: String, groupId: String) throws(MutationError) {
        guard let index = blueprint.ids.groupIndex(groupId) else { throw .notFound(groupId) }
        try removeFromGroup(userId: userId, groupIndex: index)
    }

    /// Changes a user's memberships and the group's `lastMembershipUpdated` under one lock.
    private func changeMembership(
        userId: String, groupIndex: Int, at now: Timestamp, _ change: (inout [Int]) throws(MutationError) -> Void
    ) throws(MutationError) -> (SimUser, SimGroup) {
        try state.withLock { state throws(MutationError) in
            guard var group = state.groups[groupIndex] else { throw .notFound("group \(groupIndex)") }
            guard group.type != .builtIn else {
                throw .invalid("the members of \(group.name) are managed by Okta")
            }
            guard var user = Self.user(userId, in: state, blueprint: blueprint) else { throw .notFound(userId) }
            try change(&user.groups)
            group.lastMembershipUpdated = now
            state.groups[groupIndex] = group
            state.overlay[user.index] = user
            return (user, group)
        }
    }
}
