/// A device as `GET /api/v1/devices` and `GET /api/v1/users/{id}/devices` return it (Identity Engine).
public struct OktaDevice: Sendable, Hashable, Codable {
    public var id: String
    public var status: String?
    public var created: Timestamp?
    public var lastUpdated: Timestamp?
    public var profile: Profile

    /// The device profile; only the fields the mapping uses are kept.
    public struct Profile: Sendable, Hashable, Codable {
        public var displayName: String?
        /// `ANDROID`, `IOS`, `MACOS` or `WINDOWS` (`DevicePlatform`); kept as text to tolerate new values.
        public var platform: String?
        public var manufacturer: String?
        public var model: String?
        public var osVersion: String?
        public var serialNumber: String?

        /// Creates a device profile.
        public init(
            displayName: String? = nil, platform: String? = nil, manufacturer: String? = nil,
            model: String? = nil, osVersion: String? = nil, serialNumber: String? = nil
        ) {
            self.displayName = displayName
            self.platform = platform
            self.manufacturer = manufacturer
            self.model = model
            self.osVersion = osVersion
            self.serialNumber = serialNumber
        }
    }

    /// Creates a device.
    public init(
        id: String, status: String? = nil, created: Timestamp? = nil, lastUpdated: Timestamp? = nil,
        profile: Profile
    ) {
        self.id = id
        self.status = status
        self.created = created
        self.lastUpdated = lastUpdated
        self.profile = profile
    }

    /// What the mapping needs of this device.
    public var summary: DeviceSummary {
        DeviceSummary(
            id: id, name: profile.displayName, platform: profile.platform, osVersion: profile.osVersion,
            manufacturer: profile.manufacturer, model: profile.model, serialNumber: profile.serialNumber)
    }
}

/// One element of `GET /api/v1/users/{id}/devices` (`UserDevice`).
public struct OktaUserDevice: Sendable, Hashable, Codable {
    public var created: Timestamp?
    public var deviceUserId: String?
    public var device: OktaDevice

    /// Creates a user's device link.
    public init(created: Timestamp? = nil, deviceUserId: String? = nil, device: OktaDevice) {
        self.created = created
        self.deviceUserId = deviceUserId
        self.device = device
    }
}

/// A device linked to a user, reduced to what the mapping uses.
public struct DeviceSummary: Sendable, Hashable, Codable {
    public var id: String
    public var name: String?
    public var platform: String?
    public var osVersion: String?
    public var manufacturer: String?
    public var model: String?
    public var serialNumber: String?

    /// Creates a device summary.
    public init(
        id: String, name: String?, platform: String?, osVersion: String?, manufacturer: String?,
        model: String?, serialNumber: String?
    ) {
        self.id = id
        self.name = name
        self.platform = platform
        self.osVersion = osVersion
        self.manufacturer = manufacturer
        self.model = model
        self.serialNumber = serialNumber
    }

    /// Neurons' device type: `Mobile` for `IOS`/`ANDROID`, `Computer` for `MACOS`/`WINDOWS` (SPEC §8).
    public var neuronsDeviceType: String? {
        switch platform?.uppercased() {
        case "IOS", "ANDROID": return "Mobile"
        case "MACOS", "WINDOWS": return "Computer"
        default: return nil
        }
    }

    /// Neurons' OS name: `iOS`, `Android`, `macOS`, `Windows`; other platforms as Okta named them.
    public var neuronsOSName: String? {
        switch platform?.uppercased() {
        case "IOS": return "iOS"
        case "ANDROID": return "Android"
        case "MACOS": return "macOS"
        case "WINDOWS": return "Windows"
        default: return platform
        }
    }
}
