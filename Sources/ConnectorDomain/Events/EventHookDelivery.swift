/// The envelope of one event hook delivery (Okta "Event hooks": `eventType: com.okta.event_hook`,
/// `eventId`, `data.events[]` of System Log events).
public struct EventHookDelivery: Sendable, Hashable {
    /// The only envelope type Okta sends to event hooks.
    public static let envelopeEventType = "com.okta.event_hook"

    public var eventType: String
    public var eventTypeVersion: String?
    public var eventId: String
    public var eventTime: Timestamp?
    public var source: String?
    public var events: [OktaLogEvent]

    /// Creates a delivery.
    public init(
        eventId: String, eventTime: Timestamp? = nil, source: String? = nil, events: [OktaLogEvent],
        eventType: String = EventHookDelivery.envelopeEventType, eventTypeVersion: String? = "1.0"
    ) {
        self.eventType = eventType
        self.eventTypeVersion = eventTypeVersion
        self.eventId = eventId
        self.eventTime = eventTime
        self.source = source
        self.events = events
    }
}

extension EventHookDelivery: Codable {
    enum CodingKeys: String, CodingKey {
        case eventType, eventTypeVersion, cloudEventsVersion, eventId, eventTime, source, contentType, data
    }

    struct Payload: Codable {
        var events: [OktaLogEvent]
    }

    /// Decodes an envelope; extra keys are accepted (Okta adds them).
    /// - Parameter decoder: The decoder to read from.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        eventType = try container.decode(String.self, forKey: .eventType)
        eventTypeVersion = try container.decodeIfPresent(String.self, forKey: .eventTypeVersion)
        eventId = try container.decode(String.self, forKey: .eventId)
        eventTime = try? container.decodeIfPresent(Timestamp.self, forKey: .eventTime)
        source = try? container.decodeIfPresent(String.self, forKey: .source)
        events = try container.decode(Payload.self, forKey: .data).events
    }

    /// Encodes the envelope as Okta sends it.
    /// - Parameter encoder: The encoder to write to.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(eventType, forKey: .eventType)
        try container.encodeIfPresent(eventTypeVersion, forKey: .eventTypeVersion)
        try container.encode("0.1", forKey: .cloudEventsVersion)
        try container.encode(eventId, forKey: .eventId)
        try container.encodeIfPresent(eventTime, forKey: .eventTime)
        try container.encodeIfPresent(source, forKey: .source)
        try container.encode("application/json", forKey: .contentType)
        try container.encode(Payload(events: events), forKey: .data)
    }
}
