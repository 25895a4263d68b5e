import Crypto

// The hashes, apart from the encoding (CanonicalJSON.swift), which the fuzz targets compile without Crypto.
extension CanonicalJSON {
    /// Lowercase hex SHA-256 of the canonical bytes.
    /// - Parameter value: The value to hash.
    /// - Returns: 64 hex digits.
    public static func sha256Hex(_ value: JSONValue) -> String {
        hex(SHA256.hash(data: encode(value)))
    }
}

extension NeuronsRecord {
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
