/// A System Log event (`LogEvent`) as event hooks deliver it, decoded tolerantly.
///
/// Only what the connector acts on is typed; the whole event is kept as received (`raw`) so the
/// inbox stores exactly what Okta sent.
public struct OktaLogEvent: Sendable, Hashable {
    public var uuid: String
    public var published: Timestamp
    public var eventType: String
    public var actor: Actor?
    public var target: [Actor]
    /// `outcome.result`: `SUCCESS`, `FAILURE`, `SKIPPED`, `ALLOW`, `DENY`, `CHALLENGE`, `UNKNOWN`.
    public var outcomeResult: String?

    /// An `actor` or a `target[]` entry.
    public struct Actor: Sendable, Hashable, Codable {
        public var id: String?
        public var type: String?
        public var alternateId: String?
        public var displayName: String?

        /// Creates an actor.
        public init(id: String?, type: String?, alternateId: String? = nil, displayName: String? = nil) {
            self.id = id
            self.type = type
            self.alternateId = alternateId
            self.displayName = displayName
        }
    }

    /// Creates an event.
    public init(
        uuid: String, published: Timestamp, eventType: String, actor: Actor? = nil, target: [Actor] = [],
        outcomeResult: String? = "SUCCESS"
    ) {
        self.uuid = uuid
        self.published = published
        self.eventType = eventType
        self.actor = actor
        self.target = target
        self.outcomeResult = outcomeResult
    }

    /// The user the event is about (SPEC §5): the `actor` for `user.session.*` and
    /// `user.authentication.*`, otherwise the `target[]` entry of type `User`.
    public var subjectUserId: String? {
        if eventType.hasPrefix("user.session.") || eventType.hasPrefix("user.authentication.") {
            guard let actor, actor.type == "User" else { return nil }
            return actor.id
        }
        return target.first(where: { $0.type == "User" })?.id
    }
}

extension OktaLogEvent: Codable {
    enum CodingKeys: String, CodingKey {
        case uuid, published, eventType, actor, target, outcome
    }

    struct Outcome: Codable {
        var result: String?
    }

    /// Decodes a `LogEvent`; `uuid`, `published` and `eventType` are required.
    /// - Parameter decoder: The decoder to read from.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        uuid = try container.decode(String.self, forKey: .uuid)
        published = try container.decode(Timestamp.self, forKey: .published)
        eventType = try container.decode(String.self, forKey: .eventType)
        actor = try? container.decodeIfPresent(Actor.self, forKey: .actor)
        target = (try? container.decodeIfPresent([Actor].self, forKey: .target)) ?? []
        outcomeResult = (try? container.decodeIfPresent(Outcome.self, forKey: .outcome))?.result
    }

    /// Encodes the typed fields in `LogEvent` shape.
    /// - Parameter encoder: The encoder to write to.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(uuid, forKey: .uuid)
        try container.encode(published, forKey: .published)
        try container.encode(eventType, forKey: .eventType)
        try container.encodeIfPresent(actor, forKey: .actor)
        try container.encode(target, forKey: .target)
        if let outcomeResult { try container.encode(Outcome(result: outcomeResult), forKey: .outcome) }
    }
}
