/// One entry of `GET /api/v1/users/{id}/appLinks`: an app the user is assigned to.
public struct OktaAppLink: Sendable, Hashable, Codable {
    public var id: String?
    public var label: String?
    public var appName: String?
    public var appInstanceId: String?
    public var appAssignmentId: String?
    public var linkUrl: String?
    public var hidden: Bool?

    /// Creates an app link.
    public init(
        id: String? = nil, label: String?, appName: String?, appInstanceId: String?,
        appAssignmentId: String? = nil, linkUrl: String? = nil, hidden: Bool? = nil
    ) {
        self.id = id
        self.label = label
        self.appName = appName
        self.appInstanceId = appInstanceId
        self.appAssignmentId = appAssignmentId
        self.linkUrl = linkUrl
        self.hidden = hidden
    }

    /// The assignment this link stands for, when it names its app instance.
    public var assignedApp: AssignedApp? {
        guard let appInstanceId else { return nil }
        return AssignedApp(appName: appName ?? "", label: label ?? "", instanceId: appInstanceId)
    }
}

/// An app assigned to a user, however it was learnt (app links or the bulk app listing).
public struct AssignedApp: Sendable, Hashable, Codable {
    /// Okta's app name, e.g. `salesforce` or `oidc_client`.
    public var appName: String
    /// The label an admin gave the app instance.
    public var label: String
    /// The app instance id (`0oa...`).
    public var instanceId: String

    /// Creates an assigned app.
    public init(appName: String, label: String, instanceId: String) {
        self.appName = appName
        self.label = label
        self.instanceId = instanceId
    }
}
