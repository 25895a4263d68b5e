public import ConnectorDomain

/// A group of the simulated org, as Okta's Groups API describes it.
public struct SimGroup: Sendable, Hashable {
    /// How the group's profile and memberships are managed (Okta's `GroupType`).
    public enum GroupType: String, Sendable, Hashable, Codable, CaseIterable {
        /// Managed in Okta.
        case oktaGroup = "OKTA_GROUP"
        /// Imported from an app such as Active Directory.
        case appGroup = "APP_GROUP"
        /// Managed by Okta alone: `Everyone`.
        case builtIn = "BUILT_IN"
    }

    /// What Active Directory says about an imported group (`OktaActiveDirectoryGroupProfile`).
    public struct DirectoryProfile: Sendable, Hashable {
        public var samAccountName: String
        public var dn: String
        public var windowsDomainQualifiedName: String
        /// Base-64 of the group's `objectGUID`.
        public var externalId: String
        public var groupType = "Security"
        public var groupScope = "Global"
    }

    /// The group's index; its id encodes it.
    public var index: Int
    public var id: String
    public var type: GroupType
    public var name: String
    public var description: String?
    public var created: Timestamp
    /// When the profile last changed.
    public var lastUpdated: Timestamp
    /// When a member last joined or left.
    public var lastMembershipUpdated: Timestamp
    /// The Active Directory attributes of an `APP_GROUP`.
    public var directory: DirectoryProfile?

    /// Okta's `objectClass`: what the profile is.
    public var objectClass: String {
        type == .appGroup ? "okta:windows_security_principal" : "okta:user_group"
    }
}
