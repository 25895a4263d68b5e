import ConnectorStore
public import Foundation
public import OktaClient

/// How long the rest of a reconcile takes, from the Okta calls it still needs and the rate limits
/// it runs under, not from the time elapsed so far (which jumps with every rate-limit wait).
public enum ReconcileETA {
    /// What the limiter knows of one bucket's window.
    public struct Window: Sendable, Hashable {
        public var limit: Int
        public var remaining: Int
        public var resetIn: TimeInterval

        /// Creates a window.
        public init(limit: Int, remaining: Int, resetIn: TimeInterval) {
            self.limit = limit
            self.remaining = remaining
            self.resetIn = resetIn
        }
    }

    /// Okta's rate-limit windows are a minute long (SPEC §16).
    static let windowLength: TimeInterval = 60

    /// Estimates the seconds left.
    /// - Parameters:
    ///   - calls: The calls still needed, by bucket.
    ///   - windows: The current window of each bucket, when known.
    ///   - share: The connector's `rate_limit_share`.
    ///   - secondsPerCall: The time one call has taken on average, waits excluded (`nil`: unknown).
    /// - Returns: The seconds left, or `nil` when nothing is known to be left.
    public static func estimate(
        calls: [OktaBucket: Int], windows: [OktaBucket: Window], share: Double, secondsPerCall: TimeInterval?
    ) -> TimeInterval? {
        let total = calls.values.reduce(0, +)
        guard total > 0 else { return nil }
        var limited: TimeInterval = 0
        for (bucket, needed) in calls where needed > 0 {
            guard let window = windows[bucket], window.limit > 0 else { continue }
            // The limiter keeps `1 - share` of each bucket for the rest of the org.
            let reserve = Int((Double(window.limit) * (1 - share)).rounded(.up))
            let allowance = max(1, window.limit - reserve)
            let usableNow = max(0, window.remaining - reserve)
            guard needed > usableNow else { continue }
            let laterWindows = Int((Double(needed - usableNow) / Double(allowance)).rounded(.up))
            limited = max(limited, max(0, window.resetIn) + Double(laterWindows - 1) * windowLength)
        }
        let throughput = (secondsPerCall ?? 0) * Double(total)
        return max(limited, throughput)
    }
}

extension ReconcileETA {
    /// A duration in seconds.
    static func seconds(_ duration: Duration) -> TimeInterval {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// What a run still has to do, for its ETA: the Okta calls it expects, by bucket, and what it
/// cannot count yet.
struct WorkLeft: Sendable {
    var calls: [OktaBucket: Int] = [:]
    /// Why ``calls`` is not all that is left (`nil` when it is): the estimate is then a lower bound.
    var unknown: String?
}

/// The calls a bulk enrichment phase and everything after it still need. Each part is counted
/// from the previous run's calls of its endpoints, less those this run made, when there is a
/// previous run; on a first run, from what the phase has found so far (the apps' own pages) or
/// not at all (devices and users: Okta's listings say neither how many items nor how many pages).
struct BulkWorkLeft: Sendable {
    enum Phase: Int, Comparable {
        case apps, groups, devices, listing
        static func < (lhs: Phase, rhs: Phase) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    static let appUsers = "GET /api/v1/apps/{id}/users"
    static let groupsList = "GET /api/v1/groups"
    static let groupUsers = "GET /api/v1/groups/{id}/users"
    static let devices = "GET /api/v1/devices"

    /// The previous successful run's calls by endpoint (empty without one).
    let previousCalls: [String: Int]
    let callsBefore: [String: Int]
    /// Users the previous run listed.
    let expectedUsers: Int?
    let groups: Bool
    let devices: Bool

    init(previous: RunRecord?, callsBefore: OktaCallStats.Counts, groups: Bool, devices: Bool) {
        previousCalls = previous?.oktaCalls ?? [:]
        self.callsBefore = callsBefore.calls
        expectedUsers = previous?.counts.listed
        self.groups = groups
        self.devices = devices
    }

    /// The previous run's calls of an endpoint less this run's so far; `nil` when it made none.
    func fromPrevious(_ endpoint: String, made now: OktaCallStats.Counts) -> Int? {
        guard let before = previousCalls[endpoint], before > 0 else { return nil }
        let made = (now.calls[endpoint] ?? 0) - (callsBefore[endpoint] ?? 0)
        return max(0, before - made)
    }

    /// During the apps phase: `estimate` app-user pages still to read (from the pages found so far).
    func inApps(made: OktaCallStats.Counts, estimate: Int) -> WorkLeft {
        var parts = after(.apps, made: made)
        parts.calls[.apps, default: 0] += fromPrevious(Self.appUsers, made: made) ?? estimate
        return parts.work
    }

    /// During the groups phase: `estimate` member pages still to read.
    func inGroups(made: OktaCallStats.Counts, estimate: Int) -> WorkLeft {
        var parts = after(.groups, made: made)
        parts.calls[.group, default: 0] += fromPrevious(Self.groupUsers, made: made) ?? estimate
        return parts.work
    }

    /// During the devices phase.
    func inDevices(made: OktaCallStats.Counts) -> WorkLeft {
        var parts = after(.devices, made: made)
        if let left = fromPrevious(Self.devices, made: made) {
            parts.calls[.devices, default: 0] += left
        } else {
            parts.unknown.insert("devices", at: 0)
        }
        return parts.work
    }

    struct Parts {
        var calls: [OktaBucket: Int] = [:]
        var unknown: [String] = []

        var work: WorkLeft {
            var work = WorkLeft(calls: calls)
            if !unknown.isEmpty {
                let names =
                    unknown.count == 1
                    ? unknown[0] : unknown.dropLast().joined(separator: ", ") + " and " + unknown.last!
                work.unknown = "how many \(names) Okta has is known only once they are listed"
            }
            return work
        }
    }

    /// The phases after `phase`, the listing included.
    func after(_ phase: Phase, made: OktaCallStats.Counts) -> Parts {
        var parts = Parts()
        if phase < .groups, groups {
            if let left = fromPrevious(Self.groupUsers, made: made) {
                parts.calls[.group, default: 0] += left
                parts.calls[.groupsList, default: 0] += max(1, fromPrevious(Self.groupsList, made: made) ?? 1)
            } else {
                parts.unknown.append("group members")
            }
        }
        if phase < .devices, devices {
            if let left = fromPrevious(Self.devices, made: made) {
                parts.calls[.devices, default: 0] += left
            } else {
                parts.unknown.append("devices")
            }
        }
        if let expectedUsers {
            parts.calls[.usersList, default: 0] += max(1, (expectedUsers + 199) / 200)
        } else {
            parts.unknown.append("users")
        }
        return parts
    }
}
