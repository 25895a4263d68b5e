/// Maps an Okta user (with its apps and devices) to a Neurons record: the mapping of SPEC §8.
///
/// The table of base attributes is data (``UserMapper/profileTargets``) so that the record and the
/// mapping table that operators download come from one source and cannot disagree.
public struct UserMapper: Sendable {
    /// `mapping.overrides`: target attribute to the user field it comes from, replacing or adding.
    public let overrides: [String: UserFieldPath]

    /// Creates a mapper.
    /// - Parameter overrides: Target attribute to source path; validated by the configuration.
    public init(overrides: [String: UserFieldPath] = [:]) {
        self.overrides = overrides
    }

    /// Profile attributes with a target attribute of their own, in table order.
    public static let profileTargets: [(profile: String, target: String)] = [
        ("firstName", "User.FirstName"), ("lastName", "User.LastName"), ("middleName", "User.MiddleName"),
        ("login", "User.LoginID"), ("email", "User.Email"), ("secondEmail", "User.SecondEmail"),
        ("primaryPhone", "User.PhoneNumber"), ("mobilePhone", "User.MobilePhone"),
        ("streetAddress", "User.StreetAddress"), ("city", "User.City"), ("state", "User.State"),
        ("zipCode", "User.ZipCode"), ("countryCode", "User.Country"), ("title", "User.JobTitle"),
        ("timezone", "User.TimeZone"), ("preferredLanguage", "User.PreferredLanguage"),
        ("employeeNumber", "User.EmployeeNumber"), ("department", "User.Department"),
        ("division", "User.Division"), ("organization", "User.Organization"),
        ("costCenter", "User.CostCenter"), ("manager", "User.Manager"),
    ]

    /// Profile attributes consumed by named targets (the rest go to `Application.Okta.Profile.<attr>`).
    public static let consumedProfileAttributes: Set<String> = Set(profileTargets.map(\.profile)).union([
        "displayName"
    ])

    /// The prefix of the catch-all profile targets.
    public static let profilePrefix = "Application.Okta.Profile."

    /// Maps one user.
    /// - Parameter snapshot: The user with its enrichment.
    /// - Returns: The record keyed by the Okta user id.
    public func record(for snapshot: UserSnapshot) -> NeuronsRecord {
        let user = snapshot.user
        var attributes: [String: JSONValue] = [:]
        func profileValue(_ name: String) -> JSONValue? {
            guard let value = user.profile[name], !value.isNull else { return nil }
            return value
        }

        if let fullName = Self.fullName(of: user) { attributes["User.FullName"] = .string(fullName) }
        for (profile, target) in Self.profileTargets {
            if let value = profileValue(profile) { attributes[target] = value }
        }
        attributes["User.AccountStatus"] = .string(user.status)
        if let value = user.lastLogin { attributes["User.LastLogon"] = .string(value.iso8601) }
        if let value = user.passwordChanged { attributes["User.LastPasswordChange"] = .string(value.iso8601) }
        if let value = user.created { attributes["User.Created"] = .string(value.iso8601) }
        if let value = user.lastUpdated { attributes["User.LastUpdated"] = .string(value.iso8601) }
        if let apps = snapshot.apps { attributes["User.AssignedApps"] = Self.appsValue(apps) }
        if let devices = snapshot.devices { attributes["User.Devices"] = Self.devicesValue(devices) }
        if let groups = snapshot.groups { attributes["User.Groups"] = Self.groupsValue(groups) }
        attributes["Application.Okta.UserId"] = .string(user.id)
        for (name, value) in user.profile where !Self.consumedProfileAttributes.contains(name) && !value.isNull {
            attributes[Self.profilePrefix + name] = value
        }
        for (target, path) in overrides {
            attributes[target] = path.value(in: user)
        }
        return NeuronsRecord(key: user.id, attributes: attributes)
    }

    /// `profile.displayName`, else `firstName` and `lastName` joined by a space.
    static func fullName(of user: OktaUser) -> String? {
        if case .string(let display)? = user.profile["displayName"], !display.isEmpty { return display }
        let parts = ["firstName", "lastName"].compactMap { user.profile[$0]?.stringValue }.filter { !$0.isEmpty }
        return parts.isEmpty ? nil : parts.joined(separator: " ")
    }

    /// Apps sorted by instance id, so that the per-user and bulk enrichment plans give equal records.
    static func appsValue(_ apps: [AssignedApp]) -> JSONValue {
        let unique = Dictionary(apps.map { ($0.instanceId, $0) }, uniquingKeysWith: { first, _ in first })
        return .array(
            unique.values.sorted { $0.instanceId < $1.instanceId }.map { app in
                .object([
                    "AppName": .string(app.appName), "AppLabel": .string(app.label),
                    "AppInstanceId": .string(app.instanceId),
                ])
            })
    }

    /// Groups sorted by name then id, so that the per-user and bulk plans give equal records.
    static func groupsValue(_ groups: [GroupMembership]) -> JSONValue {
        let unique = Dictionary(groups.map { ($0.groupId, $0) }, uniquingKeysWith: { first, _ in first })
        return .array(
            unique.values.sorted { ($0.name, $0.groupId) < ($1.name, $1.groupId) }.map { group in
                .object(["GroupName": .string(group.name), "GroupId": .string(group.groupId)])
            })
    }

    /// Devices sorted by device id, each with the Neurons device attributes that are known.
    static func devicesValue(_ devices: [DeviceSummary]) -> JSONValue {
        let unique = Dictionary(devices.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return .array(
            unique.values.sorted { $0.id < $1.id }.map { device in
                var members: [String: JSONValue] = [:]
                let fields: [(String, String?)] = [
                    ("Device.Name", device.name), ("Device.Type", device.neuronsDeviceType),
                    ("OS.Name", device.neuronsOSName), ("OS.Version", device.osVersion),
                    ("Device.Manufacturer", device.manufacturer), ("Device.Model", device.model),
                    ("Device.SerialNumber", device.serialNumber),
                ]
                for (key, value) in fields { if let value { members[key] = .string(value) } }
                return .object(members)
            })
    }
}
