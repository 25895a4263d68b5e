/// One user mapped to Neurons target attributes, keyed by the Okta user id (SPEC §8).
public struct NeuronsRecord: Sendable, Hashable {
    /// The Okta user id.
    public var key: String
    /// Target attribute name (`User.FullName`, ...) to value. Absent source values are absent here.
    public var attributes: [String: JSONValue]

    /// Creates a record.
    public init(key: String, attributes: [String: JSONValue]) {
        self.key = key
        self.attributes = attributes
    }

    /// The canonical JSON of the attributes (see ``CanonicalJSON``): what the store keeps and sinks send.
    public var canonicalAttributesJSON: String { CanonicalJSON.string(.object(attributes)) }

    /// SHA-256 over the canonical form of key and attributes: equal records hash equal anywhere.
    public var contentHash: String {
        CanonicalJSON.sha256Hex(.object(["key": .string(key), "attributes": .object(attributes)]))
    }

    /// The attribute sign-in events move (SPEC §5).
    public static let lastLogonAttribute = "User.LastLogon"

    /// Whether this record differs from a stored one (its canonical attributes JSON) in
    /// `User.LastLogon` alone: what a reconcile corrects when sign-ins are left out of the hook
    /// (SPEC §20), counted apart from drift.
    public func differsInLastLogonOnly(from storedAttributesJSON: String) -> Bool {
        guard let decoded = try? JSONCoding.decode(JSONValue.self, from: storedAttributesJSON),
            case .object(var stored) = decoded
        else { return false }
        guard stored[Self.lastLogonAttribute] != attributes[Self.lastLogonAttribute] else { return false }
        var mine = attributes
        stored[Self.lastLogonAttribute] = nil
        mine[Self.lastLogonAttribute] = nil
        return CanonicalJSON.string(.object(stored)) == CanonicalJSON.string(.object(mine))
    }
}
