/// A secret value (API token, hook secret, client secret, private key) that never shows itself.
///
/// Its descriptions are redacted, so a secret that slips into a log line, an error or a status
/// output prints as `<redacted>` (SPEC §12). Use ``reveal()`` exactly where the value is sent.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    private let value: String

    /// Wraps a secret value.
    public init(_ value: String) { self.value = value }

    /// The secret itself, for the one place that sends it.
    public func reveal() -> String { value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}
