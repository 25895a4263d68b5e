/// Everything the connector knows about one Okta user: the user and, when enrichment ran,
/// the apps assigned to them and their devices.
///
/// This is the state the store keeps per user and the input of the mapping. `nil` enrichment means
/// "not gathered" (the attribute is left out of the record), an empty list means "gathered, none".
public struct UserSnapshot: Sendable, Hashable, Codable {
    public var user: OktaUser
    public var apps: [AssignedApp]?
    public var devices: [DeviceSummary]?

    /// Creates a snapshot.
    public init(user: OktaUser, apps: [AssignedApp]? = nil, devices: [DeviceSummary]? = nil) {
        self.user = user
        self.apps = apps
        self.devices = devices
    }
}
