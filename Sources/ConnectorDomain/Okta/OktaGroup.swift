/// One group as `GET /api/v1/groups` and `GET /api/v1/users/{id}/groups` return it: only what the
/// connector uses (SPEC §19).
public struct OktaGroup: Sendable, Hashable, Decodable {
    /// The group id (`00g...`).
    public var id: String
    /// `OKTA_GROUP`, `APP_GROUP` (imported, e.g. from Active Directory) or `BUILT_IN` (`Everyone`).
    public var type: String?
    /// `profile.name`.
    public var name: String

    /// Creates a group.
    public init(id: String, type: String?, name: String) {
        self.id = id
        self.type = type
        self.name = name
    }

    enum CodingKeys: String, CodingKey { case id, type, profile }
    struct Profile: Decodable { var name: String? }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        type = try container.decodeIfPresent(String.self, forKey: .type)
        name = try container.decodeIfPresent(Profile.self, forKey: .profile)?.name ?? ""
    }

    /// Whether the group is mapped: every type but `BUILT_IN` (`Everyone` says nothing about a user).
    public var isMapped: Bool { type != "BUILT_IN" }

    /// The membership this group stands for in a user's snapshot.
    public var membership: GroupMembership { GroupMembership(groupId: id, name: name) }
}

/// A group a user is a member of, as the snapshot keeps it and `User.Groups` maps it.
public struct GroupMembership: Sendable, Hashable, Codable {
    /// The group id (`00g...`).
    public var groupId: String
    /// The group's `profile.name`.
    public var name: String

    /// Creates a membership.
    public init(groupId: String, name: String) {
        self.groupId = groupId
        self.name = name
    }
}
