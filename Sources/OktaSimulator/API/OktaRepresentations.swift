import ConnectorDomain

/// Okta's JSON shapes for the simulator's objects, as the Management API sends them (OpenAPI spec
/// 2026.06.3 and the recorded responses in shared/okta).
struct OktaRepresentations {
    /// The org's base URL, for `_links`.
    let baseURL: String
    let ids: OktaIdentifiers

    /// A `User`; `credentials` are left out when the client asked for `okta-response=omitCredentials`.
    func user(_ user: SimUser, into w: inout JSONWriter, includeCredentials: Bool) {
        w.beginObject()
        w.field("id", user.id)
        w.field("status", user.status.rawValue)
        w.key("created"); w.timestamp(user.created)
        w.key("activated"); w.timestamp(user.activated)
        w.key("statusChanged"); w.timestamp(user.statusChanged)
        w.key("lastLogin"); w.timestamp(user.lastLogin)
        w.key("lastUpdated"); w.timestamp(user.lastUpdated)
        w.key("passwordChanged"); w.timestamp(user.passwordChanged)
        w.key("type"); w.beginObject(); w.field("id", user.typeId); w.endObject()
        w.key("profile")
        w.beginObject()
        for (key, value) in user.profile {
            w.key(key)
            w.value(value)
        }
        w.endObject()
        if includeCredentials {
            w.key("credentials")
            w.beginObject()
            if user.status != .staged {
                w.key("password"); w.beginObject(); w.endObject()
            }
            w.key("provider"); w.beginObject(); w.field("type", "OKTA"); w.field("name", "OKTA"); w.endObject()
            w.endObject()
        }
        w.key("_links")
        w.beginObject()
        w.key("self"); w.beginObject(); w.field("href", "\(baseURL)/api/v1/users/\(user.id)"); w.endObject()
        w.endObject()
        w.endObject()
    }

    /// An `AppLink` of `GET /api/v1/users/{id}/appLinks`.
    func appLink(app: Int, user: SimUser, into w: inout JSONWriter) {
        let (name, label) = NameCatalogue.apps[app]
        let appId = ids.app(app)
        w.beginObject()
        w.field("id", "00ub0oNGTSWTBKOLGLNR")
        w.field("label", label)
        w.field("linkUrl", "\(baseURL)/home/\(name)/\(appId)/\(app)")
        w.field("logoUrl", "\(baseURL)/img/logos/\(name).png")
        w.field("appName", name)
        w.field("appInstanceId", appId)
        w.field("appAssignmentId", "0ua" + String(appId.dropFirst(3)))
        w.key("credentialsSetup"); w.bool(false)
        w.key("hidden"); w.bool(false)
        w.key("sortOrder"); w.int(app)
        w.endObject()
    }

    /// An `Application` of `GET /api/v1/apps`.
    func application(_ app: Int, created: Timestamp, into w: inout JSONWriter) {
        let (name, label) = NameCatalogue.apps[app]
        w.beginObject()
        w.field("id", ids.app(app))
        w.field("orn", "orn:okta:idp:\(ids.app(app)):apps:\(name)")
        w.field("name", name)
        w.field("label", label)
        w.field("status", "ACTIVE")
        w.key("created"); w.timestamp(created)
        w.key("lastUpdated"); w.timestamp(created)
        w.key("accessibility"); w.beginObject(); w.key("selfService"); w.bool(false); w.endObject()
        w.key("visibility"); w.beginObject(); w.key("autoLaunch"); w.bool(false); w.endObject()
        w.key("features"); w.beginArray(); w.endArray()
        w.field("signOnMode", name == "bookmark" ? "BOOKMARK" : (name == "oidc_client" ? "OPENID_CONNECT" : "SAML_2_0"))
        w.key("_links")
        w.beginObject()
        w.key("users"); w.beginObject(); w.field("href", "\(baseURL)/api/v1/apps/\(ids.app(app))/users"); w.endObject()
        w.key("self"); w.beginObject(); w.field("href", "\(baseURL)/api/v1/apps/\(ids.app(app))"); w.endObject()
        w.endObject()
        w.endObject()
    }

    /// An `AppUser` of `GET /api/v1/apps/{id}/users`.
    func appUser(_ user: SimUser, app: Int, scope: String, into w: inout JSONWriter) {
        w.beginObject()
        w.field("id", user.id)
        w.field("externalId", nil)
        w.key("created"); w.timestamp(user.created)
        w.key("lastUpdated"); w.timestamp(user.lastUpdated)
        w.field("scope", scope)
        w.field("status", user.status == .deprovisioned ? "INACTIVE" : "PROVISIONED")
        w.key("statusChanged"); w.timestamp(user.statusChanged)
        w.key("passwordChanged"); w.null()
        w.field("syncState", "DISABLED")
        w.key("credentials"); w.beginObject(); w.field("userName", user.login); w.endObject()
        w.key("profile")
        w.beginObject()
        w.key("email"); w.value(user.profileValue("email") ?? .null)
        w.key("displayName"); w.value(user.profileValue("displayName") ?? .null)
        w.endObject()
        w.key("_links")
        w.beginObject()
        w.key("app"); w.beginObject(); w.field("href", "\(baseURL)/api/v1/apps/\(ids.app(app))"); w.endObject()
        w.key("user"); w.beginObject(); w.field("href", "\(baseURL)/api/v1/users/\(user.id)"); w.endObject()
        w.endObject()
        w.endObject()
    }

    /// A `Device`, optionally with `_embedded.users` (`expand=user`).
    func device(_ device: SimDevice, owner: SimUser?, into w: inout JSONWriter, includeCredentials: Bool) {
        let id = ids.device(device.index)
        w.beginObject()
        w.field("id", id)
        w.field("status", device.status)
        w.key("created"); w.timestamp(device.created)
        w.key("lastUpdated"); w.timestamp(device.lastUpdated)
        w.key("profile")
        w.beginObject()
        w.field("displayName", device.displayName)
        w.field("platform", device.platform)
        if let manufacturer = device.manufacturer { w.field("manufacturer", manufacturer) }
        if let model = device.model { w.field("model", model) }
        if let osVersion = device.osVersion { w.field("osVersion", osVersion) }
        if let serial = device.serialNumber { w.field("serialNumber", serial) }
        w.key("registered"); w.bool(true)
        w.key("secureHardwarePresent"); w.bool(device.platform != "WINDOWS")
        w.endObject()
        w.field("resourceType", "UDDevice")
        w.key("resourceDisplayName")
        w.beginObject(); w.field("value", device.displayName); w.key("sensitive"); w.bool(false); w.endObject()
        w.key("resourceAlternateId"); w.null()
        w.field("resourceId", id)
        w.key("_links")
        w.beginObject()
        w.key("self"); w.beginObject(); w.field("href", "\(baseURL)/api/v1/devices/\(id)"); w.endObject()
        w.key("users"); w.beginObject(); w.field("href", "\(baseURL)/api/v1/devices/\(id)/users"); w.endObject()
        w.endObject()
        if let owner {
            w.key("_embedded")
            w.beginObject()
            w.key("users")
            w.beginArray()
            deviceUser(device, owner: owner, into: &w, includeCredentials: includeCredentials)
            w.endArray()
            w.endObject()
        }
        w.endObject()
    }

    /// A `DeviceUser`: the link of a device to its user.
    func deviceUser(_ device: SimDevice, owner: SimUser, into w: inout JSONWriter, includeCredentials: Bool) {
        w.beginObject()
        w.key("created"); w.timestamp(device.created)
        w.field(
            "managementStatus", device.platform == "WINDOWS" || device.platform == "MACOS" ? "MANAGED" : "NOT_MANAGED")
        w.field("screenLockType", device.platform == "IOS" || device.platform == "ANDROID" ? "BIOMETRIC" : "PASSCODE")
        w.key("user")
        user(owner, into: &w, includeCredentials: includeCredentials)
        w.endObject()
    }

    /// A `UserDevice` of `GET /api/v1/users/{id}/devices`.
    func userDevice(_ device: SimDevice, into w: inout JSONWriter) {
        w.beginObject()
        w.key("created"); w.timestamp(device.created)
        w.field("deviceUserId", "lnk" + String(ids.device(device.index).dropFirst(3)))
        w.key("device")
        self.device(device, owner: nil, into: &w, includeCredentials: false)
        w.endObject()
    }

    /// A `Group`; with `usersCount`, `_embedded.stats` as `expand=stats` asks.
    func group(_ group: SimGroup, into w: inout JSONWriter, usersCount: Int? = nil) {
        let href = "\(baseURL)/api/v1/groups/\(group.id)"
        w.beginObject()
        w.field("id", group.id)
        w.key("created"); w.timestamp(group.created)
        w.key("lastUpdated"); w.timestamp(group.lastUpdated)
        w.key("lastMembershipUpdated"); w.timestamp(group.lastMembershipUpdated)
        w.key("objectClass"); w.beginArray(); w.string(group.objectClass); w.endArray()
        w.field("type", group.type.rawValue)
        w.key("profile")
        w.beginObject()
        w.field("name", group.name)
        w.field("description", group.description)
        if let directory = group.directory {
            w.field("groupType", directory.groupType)
            w.field("samAccountName", directory.samAccountName)
            w.field("groupScope", directory.groupScope)
            w.field("dn", directory.dn)
            w.field("windowsDomainQualifiedName", directory.windowsDomainQualifiedName)
            w.field("externalId", directory.externalId)
        }
        w.endObject()
        w.key("_links")
        w.beginObject()
        w.key("logo")
        w.beginArray()
        let logo = group.type == .appGroup ? "active_directory" : "okta"
        for size in ["medium", "large"] {
            w.beginObject()
            w.field("name", size)
            w.field("href", "\(baseURL)/img/logos/groups/\(logo)-\(size).png")
            w.field("type", "image/png")
            w.endObject()
        }
        w.endArray()
        w.key("users"); w.beginObject(); w.field("href", "\(href)/users"); w.endObject()
        w.key("apps"); w.beginObject(); w.field("href", "\(href)/apps"); w.endObject()
        w.endObject()
        if let usersCount {
            w.key("_embedded")
            w.beginObject()
            w.key("stats"); w.beginObject(); w.key("usersCount"); w.int(usersCount); w.endObject()
            w.endObject()
        }
        w.endObject()
    }

    /// Okta's error body.
    static func error(code: String, summary: String, id: String, causes: [String] = []) -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        w.field("errorCode", code)
        w.field("errorSummary", summary)
        w.field("errorLink", code)
        w.field("errorId", id)
        w.key("errorCauses")
        w.beginArray()
        for cause in causes {
            w.beginObject(); w.field("errorSummary", cause); w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }
}
