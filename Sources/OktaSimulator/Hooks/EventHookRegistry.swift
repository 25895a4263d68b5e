import ConnectorDomain
import Foundation
import Synchronization

/// An event hook as the Event Hooks API represents it (OpenAPI `EventHook`; the recorded
/// `GET /api/v1/eventHooks/{id}` response). The auth header's value is write-only: never returned.
public struct EventHookObject: Codable, Sendable, Hashable {
    public var id: String?
    public var status: String?
    public var verificationStatus: String?
    public var name: String
    public var created: String?
    public var createdBy: String?
    public var lastUpdated: String?
    public var events: Events
    public var channel: Channel
    public var description: String?

    public struct Events: Codable, Sendable, Hashable {
        public var type: String
        public var items: [String]
        public init(type: String = "EVENT_TYPE", items: [String]) {
            self.type = type
            self.items = items
        }
    }

    public struct Channel: Codable, Sendable, Hashable {
        public var type: String
        public var version: String
        public var config: Config
        public init(type: String = "HTTP", version: String = "1.0.0", config: Config) {
            self.type = type
            self.version = version
            self.config = config
        }
    }

    public struct Config: Codable, Sendable, Hashable {
        public var uri: String
        public var headers: [Header]?
        public var method: String?
        public var authScheme: AuthScheme?
        public init(uri: String, headers: [Header]? = nil, method: String? = "POST", authScheme: AuthScheme?) {
            self.uri = uri
            self.headers = headers
            self.method = method
            self.authScheme = authScheme
        }
    }

    public struct Header: Codable, Sendable, Hashable {
        public var key: String
        public var value: String
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    public struct AuthScheme: Codable, Sendable, Hashable {
        public var type: String
        public var key: String
        public var value: String?
        public init(type: String = "HEADER", key: String, value: String?) {
            self.type = type
            self.key = key
            self.value = value
        }
    }

    /// Creates a hook object.
    public init(name: String, events: Events, channel: Channel) {
        self.name = name
        self.events = events
        self.channel = channel
    }
}

/// The org's event hooks (at most 25 active, SPEC §16).
final class EventHookRegistry: Sendable {
    static let maximumActive = 25
    private let hooks = Mutex<[String: EventHookObject]>([:])
    private let order = Mutex<[String]>([])

    struct Problem: Error {
        let reason: String
    }

    func all() -> [EventHookObject] {
        let ids = order.withLock { $0 }
        return hooks.withLock { hooks in ids.compactMap { hooks[$0] } }
    }

    func get(_ id: String) -> EventHookObject? { hooks.withLock { $0[id] } }

    /// Hooks that receive events: `ACTIVE` and `VERIFIED` (Okta "Event hooks").
    func deliverable() -> [EventHookObject] {
        all().filter { $0.status == "ACTIVE" && $0.verificationStatus == "VERIFIED" }
    }

    func create(_ hook: EventHookObject, now: Timestamp, createdBy: String) throws(Problem) -> EventHookObject {
        try validate(hook)
        let activeCount = all().filter { $0.status == "ACTIVE" }.count
        guard activeCount < Self.maximumActive else {
            throw Problem(reason: "the org already has \(Self.maximumActive) active event hooks")
        }
        var stored = hook
        stored.id = "who" + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(17))
        stored.status = "ACTIVE"
        stored.verificationStatus = "UNVERIFIED"
        stored.created = now.iso8601
        stored.lastUpdated = now.iso8601
        stored.createdBy = createdBy
        stored.channel.config.method = "POST"
        hooks.withLock { $0[stored.id!] = stored }
        order.withLock { $0.append(stored.id!) }
        return stored
    }

    func replace(_ id: String, with hook: EventHookObject, now: Timestamp) throws(Problem) -> EventHookObject? {
        try validate(hook)
        return hooks.withLock { hooks -> EventHookObject? in
            guard let existing = hooks[id] else { return nil }
            var stored = hook
            stored.id = id
            stored.status = existing.status
            stored.created = existing.created
            stored.createdBy = existing.createdBy
            stored.lastUpdated = now.iso8601
            stored.channel.config.method = "POST"
            // A changed URI must be verified again.
            stored.verificationStatus =
                existing.channel.config.uri == hook.channel.config.uri ? existing.verificationStatus : "UNVERIFIED"
            if stored.channel.config.authScheme?.value == nil {
                stored.channel.config.authScheme?.value = existing.channel.config.authScheme?.value
            }
            hooks[id] = stored
            return stored
        }
    }

    func update(_ id: String, _ change: (inout EventHookObject) -> Void) -> EventHookObject? {
        hooks.withLock { hooks in
            guard var hook = hooks[id] else { return nil }
            change(&hook)
            hooks[id] = hook
            return hook
        }
    }

    func delete(_ id: String) -> Bool {
        let removed = hooks.withLock { $0.removeValue(forKey: id) != nil }
        if removed { order.withLock { $0.removeAll { $0 == id } } }
        return removed
    }

    private func validate(_ hook: EventHookObject) throws(Problem) {
        guard !hook.name.isEmpty else { throw Problem(reason: "name: may not be empty") }
        guard hook.events.type == "EVENT_TYPE", !hook.events.items.isEmpty else {
            throw Problem(reason: "events.items: at least one event type")
        }
        guard hook.events.items.count <= 300 else { throw Problem(reason: "events.items: at most 300 event types") }
        guard hook.channel.type == "HTTP", let url = URL(string: hook.channel.config.uri), url.host != nil,
            ["https", "http"].contains(url.scheme ?? "")
        else { throw Problem(reason: "channel.config.uri: must be an https URL") }
        if let scheme = hook.channel.config.authScheme, scheme.type != "HEADER" {
            throw Problem(reason: "channel.config.authScheme.type: only HEADER is supported for event hooks")
        }
    }
}

extension EventHookObject {
    /// The hook as responses show it: the auth header value is never returned.
    func redacted(baseURL: String) -> EventHookObject {
        var copy = self
        copy.channel.config.authScheme?.value = nil
        return copy
    }
}
