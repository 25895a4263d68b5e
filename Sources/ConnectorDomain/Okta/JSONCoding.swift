public import Foundation

/// The one JSON setup of the project: Okta's field names as they are, dates as ``Timestamp`` strings.
public enum JSONCoding {
    /// A decoder for Okta payloads and stored JSON.
    public static func decoder() -> JSONDecoder { JSONDecoder() }

    /// An encoder with sorted keys, so stored JSON is stable.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Encodes a value to a JSON string.
    public static func string(_ value: some Encodable) throws -> String {
        String(decoding: try encoder().encode(value), as: UTF8.self)
    }

    /// Decodes a value from a JSON string.
    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try decoder().decode(type, from: Data(text.utf8))
    }
}
