/// Everything the connector knows about one Okta user: the user and, when enrichment ran,
/// the apps assigned to them, their devices and the groups they are a member of.
///
/// This is the state the store keeps per user and the input of the mapping. `nil` enrichment means
/// "not gathered" (the attribute is left out of the record), an empty list means "gathered, none".
public struct UserSnapshot: Sendable, Hashable, Codable {
    public var user: OktaUser
    public var apps: [AssignedApp]?
    public var devices: [DeviceSummary]?
    /// Mapped groups (every type but `BUILT_IN`).
    public var groups: [GroupMembership]?

    /// Creates a snapshot.
    public init(
        user: OktaUser, apps: [AssignedApp]? = nil, devices: [DeviceSummary]? = nil, groups: [GroupMembership]? = nil
    ) {
        self.user = user
        self.apps = apps
        self.devices = devices
        self.groups = groups
    }
}

extension UserSnapshot {
    /// The snapshot as JSON in its `Codable` shape, written by the canonical writer: the same text
    /// `JSONCoding.encoder()` would produce (sorted keys), several times faster, for the store's hot path.
    public var encodedJSON: String {
        var user: [String: JSONValue] = [
            "id": .string(self.user.id), "status": .string(self.user.status), "profile": .object(self.user.profile),
        ]
        let stamps: [(String, Timestamp?)] = [
            ("created", self.user.created), ("activated", self.user.activated),
            ("statusChanged", self.user.statusChanged),
            ("lastLogin", self.user.lastLogin), ("lastUpdated", self.user.lastUpdated),
            ("passwordChanged", self.user.passwordChanged),
        ]
        for (key, value) in stamps { if let value { user[key] = .string(value.iso8601) } }
        if let typeId = self.user.typeId { user["type"] = ["id": .string(typeId)] }
        var object: [String: JSONValue] = ["user": .object(user)]
        if let apps { object["apps"] = Self.appsJSON(apps) }
        if let devices { object["devices"] = Self.devicesJSON(devices) }
        if let groups { object["groups"] = Self.groupsJSON(groups) }
        return CanonicalJSON.string(.object(object))
    }

    /// The apps as the snapshot's JSON holds them, in their order.
    static func appsJSON(_ apps: [AssignedApp]) -> JSONValue {
        .array(
            apps.map {
                ["appName": .string($0.appName), "label": .string($0.label), "instanceId": .string($0.instanceId)]
            })
    }

    /// The groups as the snapshot's JSON holds them, in their order.
    static func groupsJSON(_ groups: [GroupMembership]) -> JSONValue {
        .array(groups.map { ["groupId": .string($0.groupId), "name": .string($0.name)] })
    }

    /// The devices as the snapshot's JSON holds them, in their order.
    static func devicesJSON(_ devices: [DeviceSummary]) -> JSONValue {
        .array(
            devices.map { device in
                var members: [String: JSONValue] = ["id": .string(device.id)]
                let fields: [(String, String?)] = [
                    ("name", device.name), ("platform", device.platform), ("osVersion", device.osVersion),
                    ("manufacturer", device.manufacturer), ("model", device.model),
                    ("serialNumber", device.serialNumber),
                ]
                for (key, value) in fields { if let value { members[key] = .string(value) } }
                return .object(members)
            })
    }
}
