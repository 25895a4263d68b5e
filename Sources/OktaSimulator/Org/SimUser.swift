public import ConnectorDomain

/// A device linked to a simulated user.
public struct SimDevice: Sendable, Hashable {
    /// The device's index (user index × 16 + slot); its id encodes it.
    public var index: Int
    public var status: String
    public var platform: String
    public var displayName: String
    public var manufacturer: String?
    public var model: String?
    public var osVersion: String?
    public var serialNumber: String?
    public var created: Timestamp
    public var lastUpdated: Timestamp

    /// How many device slots each user has.
    static let slotsPerUser = 16
}

/// One user of the simulated org, with what Okta knows about its groups, apps and devices.
public struct SimUser: Sendable {
    public var index: Int
    public var id: String
    public var status: OktaUserStatus
    public var created: Timestamp
    public var activated: Timestamp?
    public var statusChanged: Timestamp?
    public var lastLogin: Timestamp?
    public var lastUpdated: Timestamp
    public var passwordChanged: Timestamp?
    public var typeId: String
    /// Profile attributes in Okta's output order; `.null` values are sent as JSON `null`.
    public var profile: [(key: String, value: JSONValue)]
    /// The indices of the groups the user is a member of, sorted; `Everyone`, which has every user,
    /// is not listed.
    public var groups: [Int]
    /// Indices into the app catalogue, assigned directly.
    public var directApps: [Int]
    public var devices: [SimDevice]

    /// The profile value of an attribute.
    public func profileValue(_ key: String) -> JSONValue? {
        profile.first { $0.key == key }?.value
    }

    /// Sets (or adds) a profile attribute.
    mutating func setProfile(_ key: String, _ value: JSONValue) {
        if let position = profile.firstIndex(where: { $0.key == key }) {
            profile[position].value = value
        } else {
            profile.append((key, value))
        }
    }

    /// The login.
    public var login: String { profileValue("login")?.stringValue ?? id }

    /// Every app the user is assigned to, directly or through a group, with how.
    public var assignedApps: [(app: Int, scope: String)] {
        var result: [Int: String] = [:]
        for group in groups where group < NameCatalogue.groups.count {
            for app in NameCatalogue.groups[group].apps { result[app] = "GROUP" }
        }
        for app in directApps { result[app] = "USER" }
        return result.keys.sorted().map { ($0, result[$0]!) }
    }

    /// The user as the connector's domain model sees it.
    public var oktaUser: OktaUser {
        OktaUser(
            id: id, status: status.rawValue, created: created, activated: activated, statusChanged: statusChanged,
            lastLogin: lastLogin, lastUpdated: lastUpdated, passwordChanged: passwordChanged, typeId: typeId,
            profile: Dictionary(profile.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last }))
    }
}
