import ConnectorDomain

/// Filtering the simulated org's users (apart from the parser, which the fuzz target compiles alone).
extension UserFilter {
    /// Whether a user passes the filter.
    func matches(_ user: SimUser) -> Bool {
        switch self {
        case .status(let wanted): return user.status == wanted
        case .lastUpdated(let comparison, let value):
            switch comparison {
            case .eq: return user.lastUpdated == value
            case .gt: return user.lastUpdated > value
            case .ge: return user.lastUpdated >= value
            case .lt: return user.lastUpdated < value
            case .le: return user.lastUpdated <= value
            }
        case .id(let id): return user.id == id
        case .profile(let key, let value): return user.profileValue(key)?.stringValue == value
        case .and(let a, let b): return a.matches(user) && b.matches(user)
        case .or(let a, let b): return a.matches(user) || b.matches(user)
        }
    }
}
