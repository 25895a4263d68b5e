public import ConnectorDomain

/// Checks the auth header of a delivery against the connector's secrets in constant time, so the
/// time taken says nothing about how much of a guess was right (SPEC §12).
public struct HookSecretMatcher: Sendable {
    let secrets: [[UInt8]]

    /// Creates a matcher for a connector's secrets (several during a rotation).
    public init(secrets: [Secret]) {
        self.secrets = secrets.map { Array($0.reveal().utf8) }
    }

    /// Whether the presented value equals one of the secrets. Every secret is compared in full.
    public func matches(_ presented: String) -> Bool {
        let bytes = Array(presented.utf8)
        var matched = false
        for secret in secrets { matched = Self.constantTimeEqual(secret, bytes) || matched }
        return matched
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        let length = max(a.count, b.count)
        for index in 0..<length {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0
    }
}
