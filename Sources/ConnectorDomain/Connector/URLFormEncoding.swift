import Foundation

/// Percent-encoding of query and form values: everything but RFC 3986's unreserved characters.
/// Used for Okta's `filter` and cursors, OAuth token requests and the simulator's `Link` URLs.
public enum URLFormEncoding {
    static let unreserved: CharacterSet = {
        var allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        allowed.insert(charactersIn: "-._~")
        return allowed
    }()

    /// The encoded value.
    public static func encode(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value
    }

    /// `name=value&...` with every value encoded.
    public static func form(_ fields: [(String, String)]) -> String {
        fields.map { "\($0.0)=\(encode($0.1))" }.joined(separator: "&")
    }
}
