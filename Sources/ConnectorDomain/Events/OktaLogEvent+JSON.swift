extension OktaLogEvent {
    /// Reads an event from its JSON as delivered, tolerantly: `uuid`, `eventType` and a valid
    /// `published` are required; `actor`, `target` and `outcome` are read when they have the
    /// documented shape and ignored otherwise.
    /// - Parameter json: One element of `data.events`.
    /// - Returns: The event, or why it is not one.
    public static func read(_ json: JSONValue) -> Result<OktaLogEvent, EventShapeError> {
        guard case .object = json else { return .failure(EventShapeError(field: "", reason: "not an object")) }
        guard let uuid = json["uuid"]?.stringValue, !uuid.isEmpty else {
            return .failure(EventShapeError(field: "uuid", reason: "missing or not a string"))
        }
        guard let eventType = json["eventType"]?.stringValue, !eventType.isEmpty else {
            return .failure(EventShapeError(field: "eventType", reason: "missing or not a string"))
        }
        guard let publishedText = json["published"]?.stringValue, let published = Timestamp.parse(publishedText) else {
            return .failure(EventShapeError(field: "published", reason: "missing or not an ISO 8601 date-time"))
        }
        func actor(_ value: JSONValue?) -> Actor? {
            guard let value, case .object = value else { return nil }
            return Actor(
                id: value["id"]?.stringValue, type: value["type"]?.stringValue,
                alternateId: value["alternateId"]?.stringValue, displayName: value["displayName"]?.stringValue)
        }
        var targets: [Actor] = []
        if case .array(let items)? = json["target"] { targets = items.compactMap(actor) }
        let event = OktaLogEvent(
            uuid: uuid, published: published, eventType: eventType, actor: actor(json["actor"]), target: targets,
            outcomeResult: json["outcome"]?["result"]?.stringValue)
        // The user it is about becomes a store key and an Okta URL: it must look like an Okta id.
        if let subject = event.subjectUserId, !OktaIdentifier.isWellFormed(subject) {
            let field = event.target.contains { $0.type == "User" && $0.id == subject } ? "target" : "actor"
            return .failure(EventShapeError(field: "\(field).id", reason: "not an Okta user id"))
        }
        return .success(event)
    }
}

/// Why a delivered event was rejected.
public struct EventShapeError: Error, Sendable, Hashable {
    public var field: String
    public var reason: String
}
