import Synchronization

/// How a connector is doing (SPEC §11), as `status`, `/api/status`, the status page and the
/// `okta_connector_health` metric show it.
public enum ConnectorHealth: Sendable, Hashable, CustomStringConvertible {
    /// Every part runs and works.
    case running
    /// Running, but something does not work (Okta rejects the credentials, the sink or the store
    /// fails); the reason says what.
    case degraded(reason: String)
    /// A part ended unexpectedly and is being restarted after a backoff.
    case restarting(reason: String)
    /// Not running (stopped by a reload or shutdown, or inactive).
    case stopped(reason: String)

    /// The state's name: `running`, `degraded`, `restarting` or `stopped`.
    public var state: String {
        switch self {
        case .running: "running"
        case .degraded: "degraded"
        case .restarting: "restarting"
        case .stopped: "stopped"
        }
    }

    /// Why it is not `running`, if it is not.
    public var reason: String? {
        switch self {
        case .running: nil
        case .degraded(let reason), .restarting(let reason), .stopped(let reason): reason
        }
    }

    /// Every state's name, for metrics (a bounded label set).
    public static let states = ["running", "degraded", "restarting", "stopped"]

    var severity: Int {
        switch self {
        case .running: 0
        case .degraded: 1
        case .restarting: 2
        case .stopped: 3
        }
    }

    public var description: String { reason.map { "\(state): \($0)" } ?? state }
}

/// Where a connector's parts report their condition; the connector's health is the worst of them.
public final class ConnectorHealthBoard: Sendable {
    private let parts = Mutex<[String: ConnectorHealth]>([:])

    /// Creates a board with nothing reported (`running`).
    public init() {}

    /// Reports one part's condition, e.g. `report("applier", .degraded(reason: "store: disk I/O error"))`.
    public func report(_ part: String, _ health: ConnectorHealth) {
        parts.withLock { $0[part] = health }
    }

    /// Clears one part's report (it works again).
    public func clear(_ part: String) { report(part, .running) }

    /// The worst condition reported, with the part it comes from in the reason.
    public var health: ConnectorHealth {
        let worst = parts.withLock { parts in
            parts.filter { $0.value != .running }.sorted { $0.key < $1.key }.max {
                $0.value.severity < $1.value.severity
            }
        }
        guard let (part, health) = worst else { return .running }
        switch health {
        case .running: return .running
        case .degraded(let reason): return .degraded(reason: "\(part): \(reason)")
        case .restarting(let reason): return .restarting(reason: "\(part): \(reason)")
        case .stopped(let reason): return .stopped(reason: "\(part): \(reason)")
        }
    }
}
