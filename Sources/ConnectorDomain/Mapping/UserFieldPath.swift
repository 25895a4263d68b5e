/// A path to a field of an Okta user, as `mapping.overrides` names them: `id`, `status`, the
/// timestamps (`created`, `activated`, `statusChanged`, `lastLogin`, `lastUpdated`, `passwordChanged`),
/// `type.id`, or `profile.<attribute>` with optional `.<member>` steps into a JSON object.
public struct UserFieldPath: Sendable, Hashable, CustomStringConvertible {
    enum Root: Sendable, Hashable {
        case id, status, typeId
        case timestamp(TimestampField)
        case profile(attribute: String, members: [String])
    }

    enum TimestampField: String, Sendable, Hashable {
        case created, activated, statusChanged, lastLogin, lastUpdated, passwordChanged

        func value(in user: OktaUser) -> Timestamp? {
            switch self {
            case .created: user.created
            case .activated: user.activated
            case .statusChanged: user.statusChanged
            case .lastLogin: user.lastLogin
            case .lastUpdated: user.lastUpdated
            case .passwordChanged: user.passwordChanged
            }
        }
    }

    let root: Root
    /// The path as written.
    public let description: String

    /// Paths accepted at the top level of the user.
    public static let topLevelFields = [
        "id", "status", "created", "activated", "statusChanged", "lastLogin", "lastUpdated", "passwordChanged",
        "type.id",
    ]

    /// Parses a path.
    /// - Parameter text: The path, e.g. `profile.costCenter`.
    /// - Throws: ``UserFieldPath/Invalid`` with the reason.
    public init(parsing text: String) throws(Invalid) {
        let segments = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !segments.isEmpty, segments.allSatisfy({ !$0.isEmpty && !$0.contains(" ") }) else {
            throw Invalid(path: text, reason: "a path is dot-separated names without spaces")
        }
        description = text
        switch segments[0] {
        case "id" where segments.count == 1: root = .id
        case "status" where segments.count == 1: root = .status
        case "type" where segments == ["type", "id"]: root = .typeId
        case let name where segments.count == 1 && TimestampField(rawValue: name) != nil:
            root = .timestamp(TimestampField(rawValue: name)!)
        case "profile" where segments.count >= 2:
            root = .profile(attribute: segments[1], members: Array(segments.dropFirst(2)))
        default:
            throw Invalid(
                path: text,
                reason: "expected one of \(Self.topLevelFields.joined(separator: ", ")) or profile.<attribute>")
        }
    }

    /// The value at this path in a user, or `nil` when it is absent or `null`.
    /// - Parameter user: The user to read.
    /// - Returns: The value; timestamps as ISO 8601 strings.
    public func value(in user: OktaUser) -> JSONValue? {
        switch root {
        case .id: return .string(user.id)
        case .status: return .string(user.status)
        case .typeId: return user.typeId.map(JSONValue.string)
        case .timestamp(let field): return field.value(in: user).map { .string($0.iso8601) }
        case .profile(let attribute, let members):
            var value = user.profile[attribute]
            for member in members { value = value?[member] }
            if let value, !value.isNull { return value }
            return nil
        }
    }

    /// Why a path was rejected.
    public struct Invalid: Error, Sendable, Hashable {
        public var path: String
        public var reason: String
    }
}
