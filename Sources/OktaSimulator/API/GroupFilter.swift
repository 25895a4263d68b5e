import ConnectorDomain

/// The `filter` and `search` expressions of `GET /api/v1/groups` the simulator understands. `filter`
/// takes Okta's filter properties: `id eq`, `type eq`, `lastUpdated` and `lastMembershipUpdated`
/// with `eq gt ge lt le`; `search` also `created` and `profile.name` / `profile.description` with
/// `eq`, `sw` and `co` (case-insensitive). Combined with `and` / `or` and parentheses.
indirect enum GroupFilter: Sendable {
    case type(SimGroup.GroupType)
    case id(String)
    case timestamp(TimestampField, UserFilter.Comparison, Timestamp)
    case profile(ProfileField, TextOperator, String)
    case and(GroupFilter, GroupFilter)
    case or(GroupFilter, GroupFilter)

    enum TimestampField: String, Sendable { case created, lastUpdated, lastMembershipUpdated }
    enum ProfileField: String, Sendable { case name, description }
    enum TextOperator: String, Sendable { case eq, sw, co }

    /// Parses an expression.
    /// - Parameters:
    ///   - text: The expression.
    ///   - search: Whether it is a `search` (more properties and operators) rather than a `filter`.
    static func parse(_ text: String, search: Bool) throws(UserFilter.ParseError) -> GroupFilter {
        var parser = Parser(tokens: try UserFilter.tokenize(text), search: search)
        let filter = try parser.orExpression()
        guard parser.position == parser.tokens.count else {
            throw UserFilter.ParseError(reason: "unexpected \(parser.tokens[parser.position])")
        }
        return filter
    }

    /// Whether a group passes the filter.
    func matches(_ group: SimGroup) -> Bool {
        switch self {
        case .type(let type): return group.type == type
        case .id(let id): return group.id == id
        case .timestamp(let field, let comparison, let value):
            let actual: Timestamp
            switch field {
            case .created: actual = group.created
            case .lastUpdated: actual = group.lastUpdated
            case .lastMembershipUpdated: actual = group.lastMembershipUpdated
            }
            switch comparison {
            case .eq: return actual == value
            case .gt: return actual > value
            case .ge: return actual >= value
            case .lt: return actual < value
            case .le: return actual <= value
            }
        case .profile(let field, let textOperator, let value):
            guard let actual = (field == .name ? group.name : group.description)?.lowercased() else { return false }
            let wanted = value.lowercased()
            switch textOperator {
            case .eq: return actual == wanted
            case .sw: return actual.hasPrefix(wanted)
            case .co: return actual.contains(wanted)
            }
        case .and(let a, let b): return a.matches(group) && b.matches(group)
        case .or(let a, let b): return a.matches(group) || b.matches(group)
        }
    }

    struct Parser {
        typealias Token = UserFilter.Token
        typealias ParseError = UserFilter.ParseError

        let tokens: [Token]
        let search: Bool
        var position = 0

        init(tokens: [Token], search: Bool) {
            self.tokens = tokens
            self.search = search
        }

        mutating func orExpression() throws(ParseError) -> GroupFilter {
            var left = try andExpression()
            while position < tokens.count, tokens[position] == .word("or") {
                position += 1
                left = .or(left, try andExpression())
            }
            return left
        }

        mutating func andExpression() throws(ParseError) -> GroupFilter {
            var left = try primary()
            while position < tokens.count, tokens[position] == .word("and") {
                position += 1
                left = .and(left, try primary())
            }
            return left
        }

        mutating func primary() throws(ParseError) -> GroupFilter {
            guard position < tokens.count else { throw ParseError(reason: "unexpected end of expression") }
            if tokens[position] == .open {
                position += 1
                let inner = try orExpression()
                guard position < tokens.count, tokens[position] == .close else { throw ParseError(reason: "missing )") }
                position += 1
                return inner
            }
            guard position + 3 <= tokens.count,
                case .word(let attribute) = tokens[position], case .word(let operatorText) = tokens[position + 1],
                case .quoted(let value) = tokens[position + 2]
            else { throw ParseError(reason: "expected <attribute> <operator> \"<value>\"") }
            position += 3
            switch attribute {
            case "type":
                guard operatorText == "eq", let type = SimGroup.GroupType(rawValue: value) else {
                    throw ParseError(reason: "type supports eq with OKTA_GROUP, APP_GROUP or BUILT_IN")
                }
                return .type(type)
            case "id":
                guard operatorText == "eq" else { throw ParseError(reason: "id supports eq") }
                return .id(value)
            case "created" where search, "lastUpdated", "lastMembershipUpdated":
                guard let comparison = UserFilter.Comparison(rawValue: operatorText) else {
                    throw ParseError(reason: "unsupported operator \(operatorText)")
                }
                guard let timestamp = Timestamp.parse(value) else {
                    throw ParseError(reason: "\(attribute) needs an ISO 8601 date-time")
                }
                return .timestamp(TimestampField(rawValue: attribute)!, comparison, timestamp)
            case "profile.name" where search, "profile.description" where search:
                guard let textOperator = TextOperator(rawValue: operatorText) else {
                    throw ParseError(reason: "\(attribute) supports eq, sw and co")
                }
                return .profile(
                    ProfileField(rawValue: String(attribute.dropFirst("profile.".count)))!, textOperator, value)
            default:
                throw ParseError(reason: "unsupported attribute \(attribute)")
            }
        }
    }
}
