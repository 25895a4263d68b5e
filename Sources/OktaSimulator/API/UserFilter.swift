import ConnectorDomain

/// The `filter` / `search` expressions of `GET /api/v1/users` the simulator understands:
/// `status eq "X"`, `lastUpdated gt|ge|lt|le|eq "<ISO 8601>"`, `id eq "..."`, `profile.<attr> eq "..."`,
/// combined with `and` / `or` and parentheses (`and` binds tighter).
indirect enum UserFilter: Sendable {
    case status(OktaUserStatus)
    case lastUpdated(Comparison, Timestamp)
    case id(String)
    case profile(String, String)
    case and(UserFilter, UserFilter)
    case or(UserFilter, UserFilter)

    enum Comparison: String, Sendable { case eq, gt, ge, lt, le }

    struct ParseError: Error {
        let reason: String
    }

    /// Parses an expression.
    static func parse(_ text: String) throws(ParseError) -> UserFilter {
        var parser = Parser(tokens: try tokenize(text))
        let filter = try parser.orExpression()
        guard parser.position == parser.tokens.count else {
            throw ParseError(reason: "unexpected \(parser.tokens[parser.position])")
        }
        return filter
    }

    /// Whether only `status` is tested, so unchanged users need not be generated to be filtered.
    var isStatusOnly: Bool {
        switch self {
        case .status: return true
        case .and(let a, let b), .or(let a, let b): return a.isStatusOnly && b.isStatusOnly
        default: return false
        }
    }

    func matches(status: OktaUserStatus) -> Bool {
        switch self {
        case .status(let wanted): return status == wanted
        case .and(let a, let b): return a.matches(status: status) && b.matches(status: status)
        case .or(let a, let b): return a.matches(status: status) || b.matches(status: status)
        default: return true
        }
    }

    enum Token: Equatable, CustomStringConvertible {
        case word(String)
        case quoted(String)
        case open, close

        var description: String {
            switch self {
            case .word(let word): return word
            case .quoted(let text): return "\"\(text)\""
            case .open: return "("
            case .close: return ")"
            }
        }
    }

    static func tokenize(_ text: String) throws(ParseError) -> [Token] {
        var tokens: [Token] = []
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character.isWhitespace {
                index = text.index(after: index)
            } else if character == "(" || character == ")" {
                tokens.append(character == "(" ? .open : .close)
                index = text.index(after: index)
            } else if character == "\"" {
                let start = text.index(after: index)
                guard let end = text[start...].firstIndex(of: "\"") else {
                    throw ParseError(reason: "unterminated string")
                }
                tokens.append(.quoted(String(text[start..<end])))
                index = text.index(after: end)
            } else {
                let start = index
                while index < text.endIndex, !text[index].isWhitespace, text[index] != "(", text[index] != ")" {
                    index = text.index(after: index)
                }
                tokens.append(.word(String(text[start..<index])))
            }
        }
        return tokens
    }

    struct Parser {
        let tokens: [Token]
        var position = 0

        mutating func orExpression() throws(ParseError) -> UserFilter {
            var left = try andExpression()
            while position < tokens.count, tokens[position] == .word("or") {
                position += 1
                left = .or(left, try andExpression())
            }
            return left
        }

        mutating func andExpression() throws(ParseError) -> UserFilter {
            var left = try primary()
            while position < tokens.count, tokens[position] == .word("and") {
                position += 1
                left = .and(left, try primary())
            }
            return left
        }

        mutating func primary() throws(ParseError) -> UserFilter {
            guard position < tokens.count else { throw ParseError(reason: "unexpected end of expression") }
            if tokens[position] == .open {
                position += 1
                let inner = try orExpression()
                guard position < tokens.count, tokens[position] == .close else { throw ParseError(reason: "missing )") }
                position += 1
                return inner
            }
            guard position + 3 <= tokens.count,
                case .word(let attribute) = tokens[position], case .word(let opText) = tokens[position + 1],
                case .quoted(let value) = tokens[position + 2]
            else { throw ParseError(reason: "expected <attribute> <operator> \"<value>\"") }
            position += 3
            guard let comparison = Comparison(rawValue: opText) else {
                throw ParseError(reason: "unsupported operator \(opText)")
            }
            switch attribute {
            case "status":
                guard comparison == .eq, let status = OktaUserStatus(rawValue: value) else {
                    throw ParseError(reason: "status supports eq with a user status")
                }
                return .status(status)
            case "lastUpdated":
                guard let timestamp = Timestamp.parse(value) else {
                    throw ParseError(reason: "lastUpdated needs an ISO 8601 date-time")
                }
                return .lastUpdated(comparison, timestamp)
            case "id":
                guard comparison == .eq else { throw ParseError(reason: "id supports eq") }
                return .id(value)
            case let name where name.hasPrefix("profile."):
                guard comparison == .eq else { throw ParseError(reason: "profile attributes support eq") }
                return .profile(String(name.dropFirst("profile.".count)), value)
            default:
                throw ParseError(reason: "unsupported attribute \(attribute)")
            }
        }
    }
}
