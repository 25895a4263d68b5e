public import ConnectorDomain
public import OktaClient

/// `user_scope.groups` resolved against the org (SPEC §19): the groups it names, found by id or by
/// exact name. A name that matches no group or several is an error naming what was found, never
/// an empty scope: "no such group" must not read as "remove everyone".
public struct GroupScope: Sendable {
    /// The groups the scope names, in the order configured.
    public let groups: [OktaGroup]

    /// Whether a user with these groups is in scope.
    public func contains(memberOf userGroups: [OktaGroup]) -> Bool {
        let ids = Set(groups.map(\.id))
        return userGroups.contains { ids.contains($0.id) }
    }

    /// Why a scope cannot be resolved.
    public enum Problem: Error, Sendable, Hashable, CustomStringConvertible {
        /// No group has this id or name.
        case unknown(String)
        /// Several groups have this name (their ids).
        case ambiguous(String, ids: [String])
        /// `Everyone` (`BUILT_IN`) holds every user: a scope of it is no scope.
        case everyone(String)

        public var description: String {
            switch self {
            case .unknown(let entry):
                "user_scope.groups: no Okta group has the name or id \"\(entry)\" (names are matched exactly, case included)"
            case .ambiguous(let entry, let ids):
                "user_scope.groups: \(ids.count) Okta groups are named \"\(entry)\" (\(ids.joined(separator: ", "))): list the one meant by its id"
            case .everyone(let entry):
                "user_scope.groups: \"\(entry)\" is Okta's built-in group of every user: leave user_scope out instead"
            }
        }
    }

    /// Resolves the configured entries by listing the org's groups (`⌈groups/1000⌉` calls).
    /// - Throws: ``Problem`` for an entry that names no group, several, or `Everyone`; Okta's errors.
    public static func resolve(_ entries: [String], client: any OktaDirectory) async throws -> GroupScope {
        var byId: [String: OktaGroup] = [:]
        var byName: [String: [OktaGroup]] = [:]
        for try await page in client.listGroups() {
            for group in page {
                byId[group.id] = group
                byName[group.name, default: []].append(group)
            }
        }
        var groups: [OktaGroup] = []
        for entry in entries {
            let found: OktaGroup
            if let group = byId[entry] {
                found = group
            } else if let named = byName[entry], named.count == 1 {
                found = named[0]
            } else if let named = byName[entry] {
                throw Problem.ambiguous(entry, ids: named.map(\.id).sorted())
            } else {
                throw Problem.unknown(entry)
            }
            guard found.isMapped else { throw Problem.everyone(entry) }
            if !groups.contains(found) { groups.append(found) }
        }
        return GroupScope(groups: groups)
    }

    /// The ids of every member of the scope's groups (one listing per group).
    public func memberIds(client: any OktaDirectory) async throws -> Set<String> {
        var members: Set<String> = []
        for group in groups {
            for try await ids in client.groupMemberIds(groupId: group.id) { members.formUnion(ids) }
        }
        return members
    }
}
