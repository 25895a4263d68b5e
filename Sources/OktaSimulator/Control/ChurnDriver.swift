import ConnectorDomain
public import Foundation
import Synchronization

/// Applies realistic random changes to the org at a steady rate: mostly sign-ins, then profile
/// edits, status changes, app and group assignments, devices, new users and deletions.
public final class ChurnDriver: Sendable {
    let org: SimulatedOrg
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let applied = Atomic<Int>(0)
    private let random: Mutex<SplitMix64>

    /// Creates a driver.
    public init(org: SimulatedOrg, seed: UInt64 = 11) {
        self.org = org
        self.random = Mutex(SplitMix64(seed: seed))
    }

    /// Mutations applied so far.
    public var mutationsApplied: Int { applied.load(ordering: .relaxed) }

    /// Starts (or restarts) churning.
    /// - Parameters:
    ///   - perSecond: Mutations per second.
    ///   - duration: Stop after this long; `nil` runs until ``stop()``.
    public func start(perSecond: Double, duration: TimeInterval?) {
        let interval = 1 / max(0.01, perSecond)
        let end = duration.map { org.clock.now.addingTimeInterval($0) }
        let newTask = Task { [self] in
            var next = org.clock.now
            while !Task.isCancelled {
                if let end, org.clock.now >= end { break }
                next = next.addingTimeInterval(interval)
                do { try await org.clock.sleep(until: next) } catch { break }
                if applyOne() != nil { applied.add(1, ordering: .relaxed) }
            }
        }
        task.withLock { current in
            current?.cancel()
            current = newTask
        }
    }

    /// Stops churning.
    public func stop() {
        task.withLock { current in
            current?.cancel()
            current = nil
        }
    }

    /// Applies one random mutation; returns what it did, or `nil` when the pick did not apply.
    @discardableResult
    public func applyOne() -> String? {
        let (roll, userPick, extra) = random.withLock { random in (random.below(100), random.next(), random.next()) }
        let count = org.userIndexCount
        guard count > 0, let user = org.user(at: Int(userPick % UInt64(count))) else { return nil }
        do {
            switch roll {
            case 0..<45:
                try org.recordLogin(userId: user.id)
                return "login \(user.id)"
            case 45..<65:
                let titles = ["Staff Engineer", "Team Lead", "Analyst", "Directeur général", "Менеджер"]
                try org.updateProfile(id: user.id, changes: ["title": .string(titles[Int(extra % 5)])])
                return "profile \(user.id)"
            case 65..<75:
                let actions: [SimulatedOrg.LifecycleAction]
                switch user.status {
                case .active: actions = [.suspend, .lock, .deactivate, .expirePassword, .resetPassword]
                case .suspended: actions = [.unsuspend]
                case .lockedOut: actions = [.unlock]
                case .deprovisioned: actions = [.activate, .delete]
                case .staged, .provisioned: actions = [.activate]
                case .passwordExpired, .recovery: actions = [.resetPassword]
                }
                let action = actions[Int(extra % UInt64(actions.count))]
                try org.apply(action, to: user.id)
                return "\(action.rawValue) \(user.id)"
            case 75..<85:
                let app = Int(extra % UInt64(NameCatalogue.apps.count))
                if user.directApps.contains(app) {
                    try org.unassignApp(userId: user.id, appIndex: app)
                } else {
                    try org.assignApp(userId: user.id, appIndex: app)
                }
                return "app \(user.id)"
            case 85..<90:
                let groups = org.groups().filter { $0.type != .builtIn }
                guard !groups.isEmpty else { return nil }
                let group = groups[Int(extra % UInt64(groups.count))].index
                if user.groups.contains(group) {
                    try org.removeFromGroup(userId: user.id, groupIndex: group)
                } else {
                    try org.addToGroup(userId: user.id, groupIndex: group)
                }
                return "group \(user.id)"
            case 90..<96:
                if let device = user.devices.first, extra % 2 == 0 {
                    try org.removeDevice(userId: user.id, deviceId: org.blueprint.ids.device(device.index))
                } else {
                    let platform = NameCatalogue.platforms[Int(extra % 4)]
                    try org.addDevice(
                        userId: user.id, platform: platform, displayName: "NEW-\(extra % 100_000)", osVersion: "1.0",
                        serialNumber: "SN\(extra % 1_000_000)")
                }
                return "device \(user.id)"
            default:
                let created = try org.createUser(
                    profile: [
                        "login": .string("churn.\(extra)@example.org"), "firstName": "Новый",
                        "lastName": .string("User \(extra % 1000)"), "title": "New Hire",
                    ], activate: true)
                return "create \(created.id)"
            }
        } catch {
            return nil
        }
    }
}
