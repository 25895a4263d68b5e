public import ConnectorDomain

/// An app instance of `GET /api/v1/apps` (only what the connector uses).
public struct OktaApplication: Sendable, Hashable, Decodable {
    public var id: String
    public var name: String?
    public var label: String?
    public var status: String?

    /// Creates an app instance.
    public init(id: String, name: String? = nil, label: String? = nil, status: String? = nil) {
        self.id = id
        self.name = name
        self.label = label
        self.status = status
    }
}

/// An app assignment of `GET /api/v1/apps/{id}/users`: the user id and how it is assigned.
public struct OktaAppUser: Sendable, Hashable, Decodable {
    public var id: String
    /// `USER` (direct) or `GROUP`.
    public var scope: String?
    public var status: String?
}

/// Any object of which only the `id` is read: a user of `GET /api/v1/groups/{id}/users`.
public struct OktaUserId: Sendable, Hashable, Decodable {
    public var id: String
}

/// A device of `GET /api/v1/devices?expand=user`, with the ids of its users.
public struct OktaDeviceWithUsers: Sendable, Hashable, Decodable {
    public var device: OktaDevice
    public var userIds: [String]

    /// Creates a device with its users.
    public init(device: OktaDevice, userIds: [String]) {
        self.device = device
        self.userIds = userIds
    }

    enum CodingKeys: String, CodingKey { case embedded = "_embedded" }

    struct Embedded: Decodable {
        struct DeviceUser: Decodable {
            struct User: Decodable { let id: String }
            let user: User?
        }
        let users: [DeviceUser]?
    }

    /// Decodes the device and its `_embedded.users[].user.id`.
    public init(from decoder: any Decoder) throws {
        device = try OktaDevice(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let embedded = try container.decodeIfPresent(Embedded.self, forKey: .embedded)
        userIds = (embedded?.users ?? []).compactMap { $0.user?.id }
    }
}

/// An event hook as the connector registers it (`EventHook` of the Event Hooks API).
public struct OktaEventHook: Sendable, Hashable, Codable {
    public var id: String?
    public var status: String?
    public var verificationStatus: String?
    public var name: String
    public var created: String?
    public var lastUpdated: String?
    public var events: Events
    public var channel: Channel

    public struct Events: Sendable, Hashable, Codable {
        public var type: String
        public var items: [String]
    }

    public struct Channel: Sendable, Hashable, Codable {
        public var type: String
        public var version: String
        public var config: Config
    }

    public struct Config: Sendable, Hashable, Codable {
        public var uri: String
        public var headers: [Header]?
        public var authScheme: AuthScheme?
    }

    public struct Header: Sendable, Hashable, Codable {
        public var key: String
        public var value: String
    }

    public struct AuthScheme: Sendable, Hashable, Codable {
        public var type: String
        public var key: String
        public var value: String?
    }

    /// A hook delivering the given event types to a URL with an auth header.
    public init(name: String, uri: String, eventTypes: [String], authHeader: String, secret: Secret) {
        self.name = name
        self.events = Events(type: "EVENT_TYPE", items: eventTypes)
        self.channel = Channel(
            type: "HTTP", version: "1.0.0",
            config: Config(
                uri: uri, headers: nil, authScheme: AuthScheme(type: "HEADER", key: authHeader, value: secret.reveal()))
        )
    }
}
