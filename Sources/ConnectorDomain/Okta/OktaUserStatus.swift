/// The statuses an Okta user can have (Okta "Users" API, `UserStatus`).
public enum OktaUserStatus: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    case staged = "STAGED"
    case provisioned = "PROVISIONED"
    case active = "ACTIVE"
    case recovery = "RECOVERY"
    case passwordExpired = "PASSWORD_EXPIRED"
    case lockedOut = "LOCKED_OUT"
    case suspended = "SUSPENDED"
    case deprovisioned = "DEPROVISIONED"

    public static func < (lhs: OktaUserStatus, rhs: OktaUserStatus) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
