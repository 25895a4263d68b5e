import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Foundation

/// What the console's pages share in their text: ages and health classes (escaping is the
/// template engine's).
enum StatusPage {
    static func age(_ date: Date?, now: Date) -> String {
        guard let date else { return "never" }
        let seconds = Int64(saturating: now.timeIntervalSince(date))
        if seconds < 60 { return "\(seconds) s ago" }
        if seconds < 3600 { return "\(seconds / 60) min ago" }
        if seconds < 86_400 { return "\(seconds / 3600) h ago" }
        return "\(seconds / 86_400) d ago"
    }

    static func healthClass(_ health: ConnectorHealth?) -> String {
        guard let health else { return "off" }
        return health == .running ? "ok" : "warn"
    }
}
