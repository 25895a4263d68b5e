import Crypto

// Apart from the encoding (CanonicalJSON.swift), which the fuzz targets compile without Crypto.
extension CanonicalJSON {
    /// Lowercase hex SHA-256 of the canonical bytes.
    /// - Parameter value: The value to hash.
    /// - Returns: 64 hex digits.
    public static func sha256Hex(_ value: JSONValue) -> String {
        hex(SHA256.hash(data: encode(value)))
    }
}
