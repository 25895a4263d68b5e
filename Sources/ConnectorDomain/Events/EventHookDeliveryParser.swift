public import Foundation

/// The validation of an event hook delivery's body (SPEC §4), apart from HTTP and storage so that
/// it can be fuzzed on its own (`Fuzz/delivery.swift`): UTF-8, the envelope type, `eventId`, no
/// duplicate keys, and events with `uuid`, `eventType` and `published`. Unknown extra keys are accepted.
public enum EventHookDeliveryParser {
    /// Why a body is not a valid delivery, said without echoing more than a short key.
    public struct Problem: Error, Sendable, Hashable {
        public let message: String

        public init(message: String) { self.message = message }
    }

    /// A valid delivery: its id and its events, as the inbox stores them.
    public struct Parsed: Sendable, Hashable {
        public var eventId: String
        public var events: [Event]
    }

    /// One valid event: what the inbox indexes, and the canonical JSON of what the applier reads.
    public struct Event: Sendable, Hashable {
        public var uuid: String
        public var eventType: String
        public var subjectUserId: String?
        public var published: Timestamp
        public var payloadJSON: String
    }

    struct Envelope: Decodable {
        let eventType: String
        let eventId: String
        let data: Payload

        struct Payload: Decodable {
            let events: [DeliveredEvent]
        }
    }

    /// One delivered `LogEvent`, decoded typed (faster than a generic JSON value) and tolerantly:
    /// a field of an unexpected shape reads as absent; what the inbox needs is checked afterwards.
    struct DeliveredEvent: Decodable {
        struct Actor: Decodable {
            let id: String?
            let type: String?
            let alternateId: String?
            let displayName: String?

            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                id = try? c.decodeIfPresent(String.self, forKey: .id)
                type = try? c.decodeIfPresent(String.self, forKey: .type)
                alternateId = try? c.decodeIfPresent(String.self, forKey: .alternateId)
                displayName = try? c.decodeIfPresent(String.self, forKey: .displayName)
            }

            enum CodingKeys: String, CodingKey { case id, type, alternateId, displayName }

            var json: JSONValue {
                var object: [String: JSONValue] = [:]
                for (key, value) in [
                    ("id", id), ("type", type), ("alternateId", alternateId), ("displayName", displayName),
                ] {
                    if let value { object[key] = .string(value) }
                }
                return .object(object)
            }
        }

        struct Outcome: Decodable {
            let result: String?
        }

        let uuid: String?
        let eventType: String?
        let published: String?
        let actor: Actor?
        let target: [Actor]?
        let outcome: Outcome?

        enum CodingKeys: String, CodingKey { case uuid, eventType, published, actor, target, outcome }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            uuid = try? c.decodeIfPresent(String.self, forKey: .uuid)
            eventType = try? c.decodeIfPresent(String.self, forKey: .eventType)
            published = try? c.decodeIfPresent(String.self, forKey: .published)
            actor = try? c.decodeIfPresent(Actor.self, forKey: .actor)
            target = try? c.decodeIfPresent([Actor].self, forKey: .target)
            outcome = try? c.decodeIfPresent(Outcome.self, forKey: .outcome)
        }

        /// What the applier reads of the event, as JSON (the inbox payload).
        var json: JSONValue {
            var object: [String: JSONValue] = [:]
            if let uuid { object["uuid"] = .string(uuid) }
            if let eventType { object["eventType"] = .string(eventType) }
            if let published { object["published"] = .string(published) }
            if let actor { object["actor"] = actor.json }
            object["target"] = .array((target ?? []).map(\.json))
            if let result = outcome?.result { object["outcome"] = ["result": .string(result)] }
            return .object(object)
        }
    }

    /// Validates and converts a delivery body (SPEC §4): the envelope type, `eventId`, and events
    /// with `uuid`, `eventType` and `published`. Unknown extra keys are accepted.
    public static func parse(_ body: Data) -> Result<Parsed, Problem> {
        // JSON is UTF-8 (RFC 8259); the decoder would let some invalid sequences through.
        guard String(validating: body, as: UTF8.self) != nil else {
            return .failure(Problem(message: "the body is not UTF-8"))
        }
        // Checked strictly before the decoder reads it: the decoder lets through some bodies that
        // are not JSON, and those could be read differently by whoever checked the body.
        let duplicateKey: String?
        do {
            duplicateKey = try JSONDuplicateKeys.first(in: body)
        } catch {
            return .failure(Problem(message: "the body is not JSON (\(error))"))
        }
        let envelope: Envelope
        do {
            envelope = try JSONCoding.decoder().decode(Envelope.self, from: body)
        } catch DecodingError.keyNotFound(let key, let context) {
            let path = (context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")
            return .failure(Problem(message: "missing \(path)"))
        } catch DecodingError.typeMismatch(_, let context) {
            return .failure(
                Problem(message: "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"))
        } catch {
            return .failure(Problem(message: "the body is not JSON"))
        }
        guard envelope.eventType == EventHookDelivery.envelopeEventType else {
            return .failure(Problem(message: "eventType must be \(EventHookDelivery.envelopeEventType)"))
        }
        guard !envelope.eventId.isEmpty else { return .failure(Problem(message: "eventId is empty")) }
        // A key given twice means one thing here and maybe another to whoever checked the body.
        if let key = duplicateKey {
            return .failure(Problem(message: "duplicate key \"\(key.prefix(64))\""))
        }
        var events: [Event] = []
        events.reserveCapacity(envelope.data.events.count)
        for (index, delivered) in envelope.data.events.enumerated() {
            let json = delivered.json
            switch OktaLogEvent.read(json) {
            case .failure(let shape):
                return .failure(Problem(message: "data.events[\(index)].\(shape.field): \(shape.reason)"))
            case .success(let event):
                events.append(
                    Event(
                        uuid: event.uuid, eventType: event.eventType, subjectUserId: event.subjectUserId,
                        published: event.published, payloadJSON: CanonicalJSON.string(json)))
            }
        }
        return .success(Parsed(eventId: envelope.eventId, events: events))
    }
}
