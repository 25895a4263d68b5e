/// The shape of the ids Okta gives its objects (`00u1abcdEFGH2ijk3l4m` for a user): letters and
/// digits only, at most 64 of them. Ids from outside (a delivery's target, an admin request) are
/// checked against it before they reach the store, a log line or a URL.
public enum OktaIdentifier {
    /// The longest id accepted (Okta's are 20 characters).
    public static let maximumLength = 64

    /// Whether a text has the shape of an Okta id.
    /// - Parameter id: The text.
    /// - Returns: `true` for 1 to ``maximumLength`` ASCII letters and digits.
    public static func isWellFormed(_ id: String) -> Bool {
        let bytes = id.utf8
        guard !bytes.isEmpty, bytes.count <= maximumLength else { return false }
        return bytes.allSatisfy { byte in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
        }
    }
}
