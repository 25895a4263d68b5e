import Crypto

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

    /// ``canonicalAttributesJSON`` and ``contentHash`` together, from one encoding of the attributes:
    /// the hashed form `{"attributes":…,"key":…}` (keys sorted) embeds the attributes' canonical bytes.
    public var canonicalForms: (json: String, hash: String) {
        let attributes = CanonicalJSON.encode(.object(self.attributes))
        var hashed: [UInt8] = Array(#"{"attributes":"#.utf8)
        hashed.reserveCapacity(attributes.count + key.utf8.count + 32)
        hashed.append(contentsOf: attributes)
        hashed.append(contentsOf: #","key":"#.utf8)
        CanonicalJSON.writeString(key, to: &hashed)
        hashed.append(UInt8(ascii: "}"))
        return (String(decoding: attributes, as: UTF8.self), CanonicalJSON.hex(SHA256.hash(data: hashed)))
    }
}
