import Crypto

// Apart from the encoding (CanonicalJSON.swift), which the fuzz targets compile without Crypto.
extension CanonicalJSON {
    /// Lowercase hex SHA-256 of the canonical bytes.
    /// - Parameter value: The value to hash.
    /// - Returns: 64 hex digits.
    public static func sha256Hex(_ value: JSONValue) -> String {
        let digest = SHA256.hash(data: encode(value))
        return digest.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
