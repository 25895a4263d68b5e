/// An Okta user as the Users API returns it, decoded tolerantly.
///
/// Real payloads carry keys outside the OpenAPI schema and many JSON `null`s (shared/okta README),
/// so unknown keys are ignored, `null` reads as absent, and the profile keeps every attribute,
/// custom ones included, with its JSON type. Known fields with a wrong type still fail: a malformed
/// page must fail a run rather than corrupt state (SPEC §12).
public struct OktaUser: Sendable, Hashable {
    public var id: String
    /// The status as Okta sent it; `knownStatus` interprets it.
    public var status: String
    public var created: Timestamp?
    public var activated: Timestamp?
    public var statusChanged: Timestamp?
    public var lastLogin: Timestamp?
    public var lastUpdated: Timestamp?
    public var passwordChanged: Timestamp?
    /// The user type's id (`type.id`).
    public var typeId: String?
    /// Every profile attribute, base and custom, with `null`s kept as `.null`.
    public var profile: [String: JSONValue]

    /// Creates a user.
    public init(
        id: String, status: String, created: Timestamp? = nil, activated: Timestamp? = nil,
        statusChanged: Timestamp? = nil, lastLogin: Timestamp? = nil, lastUpdated: Timestamp? = nil,
        passwordChanged: Timestamp? = nil, typeId: String? = nil, profile: [String: JSONValue] = [:]
    ) {
        self.id = id
        self.status = status
        self.created = created
        self.activated = activated
        self.statusChanged = statusChanged
        self.lastLogin = lastLogin
        self.lastUpdated = lastUpdated
        self.passwordChanged = passwordChanged
        self.typeId = typeId
        self.profile = profile
    }

    /// The status, when it is one this version knows.
    public var knownStatus: OktaUserStatus? { OktaUserStatus(rawValue: status) }

    /// The top-level keys the decoder reads; any other key of a user object is ignored.
    public static var decodedKeys: [String] { CodingKeys.allCases.map(\.stringValue) }
}

extension OktaUser: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, status, created, activated, statusChanged, lastLogin, lastUpdated, passwordChanged, type,
            profile
    }

    struct UserType: Codable {
        var id: String?
    }

    /// Decodes Okta's user JSON.
    /// - Parameter decoder: The decoder to read from.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        status = try container.decode(String.self, forKey: .status)
        created = try container.decodeIfPresent(Timestamp.self, forKey: .created)
        activated = try container.decodeIfPresent(Timestamp.self, forKey: .activated)
        statusChanged = try container.decodeIfPresent(Timestamp.self, forKey: .statusChanged)
        lastLogin = try container.decodeIfPresent(Timestamp.self, forKey: .lastLogin)
        lastUpdated = try container.decodeIfPresent(Timestamp.self, forKey: .lastUpdated)
        passwordChanged = try container.decodeIfPresent(Timestamp.self, forKey: .passwordChanged)
        typeId = try container.decodeIfPresent(UserType.self, forKey: .type)?.id
        profile = try container.decodeIfPresent([String: JSONValue].self, forKey: .profile) ?? [:]
    }

    /// Encodes the user in Okta's shape, leaving absent fields out.
    /// - Parameter encoder: The encoder to write to.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(status, forKey: .status)
        try container.encodeIfPresent(created, forKey: .created)
        try container.encodeIfPresent(activated, forKey: .activated)
        try container.encodeIfPresent(statusChanged, forKey: .statusChanged)
        try container.encodeIfPresent(lastLogin, forKey: .lastLogin)
        try container.encodeIfPresent(lastUpdated, forKey: .lastUpdated)
        try container.encodeIfPresent(passwordChanged, forKey: .passwordChanged)
        if let typeId { try container.encode(UserType(id: typeId), forKey: .type) }
        try container.encode(profile, forKey: .profile)
    }
}
