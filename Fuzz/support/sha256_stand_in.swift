// Fuzz builds only: stands in for Sources/ConnectorDomain/Mapping/CanonicalJSON+SHA256.swift, which
// needs swift-crypto. The configuration target never compares hashes; a 64-hex-digit FNV-1a keeps
// the shape of the real one.
extension CanonicalJSON {
    public static func sha256Hex(_ value: JSONValue) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in encode(value) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 64 - hex.count) + hex
    }
}
