import ConnectorDomain
import ConnectorTestSupport
import Foundation
import OktaSimulator
import Testing

@Suite("Simulator: seeded org generator")
struct GeneratorTests {
    @Test func sameSeedSameOrgOtherSeedOtherOrg() {
        let a = OrgBlueprint(seed: 7, userCount: 100)
        let b = OrgBlueprint(seed: 7, userCount: 100)
        let c = OrgBlueprint(seed: 8, userCount: 100)
        for index in [0, 1, 42, 99] {
            #expect(a.user(at: index).oktaUser == b.user(at: index).oktaUser)
            #expect(a.user(at: index).devices == b.user(at: index).devices)
        }
        #expect(a.user(at: 0).id != c.user(at: 0).id)
    }

    @Test func usersAreVariedLikeARealOrg() {
        let blueprint = OrgBlueprint(seed: 7, userCount: 5000)
        let users = (0..<5000).map { blueprint.user(at: $0) }
        let statuses = Dictionary(grouping: users, by: \.status).mapValues(\.count)
        // Every status appears, ACTIVE dominates, DEPROVISIONED is there.
        #expect(Set(statuses.keys) == Set(OktaUserStatus.allCases))
        #expect(statuses[.active]! > 3500)
        #expect(statuses[.deprovisioned]! > 150)
        // Unicode names in several scripts, nulls and missing attributes, custom attributes of several types.
        let lastNames = users.compactMap { $0.profileValue("lastName")?.stringValue }
        #expect(lastNames.contains { $0.unicodeScalars.contains { (0x0400...0x04FF).contains($0.value) } }, "Cyrillic")
        #expect(lastNames.contains { $0.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) } }, "CJK")
        #expect(lastNames.contains { $0.unicodeScalars.contains { (0x0600...0x06FF).contains($0.value) } }, "Arabic")
        #expect(users.contains { $0.profileValue("middleName") == .null })
        #expect(users.contains { $0.profileValue("title") == nil })
        #expect(
            users.contains {
                $0.profileValue("badgeNumber").map { if case .integer = $0 { true } else { false } } ?? false
            })
        #expect(users.contains { $0.profileValue("isContractor") == .bool(true) })
        #expect(users.contains { if case .double? = $0.profileValue("hourlyRate") { true } else { false } })
        #expect(users.contains { if case .array? = $0.profileValue("skills") { true } else { false } })
        #expect(users.contains { if case .object? = $0.profileValue("building") { true } else { false } })
        // Every base attribute of SPEC §8 is generated for someone.
        for attribute in UserMapper.profileTargets.map(\.profile) + ["displayName"] {
            #expect(users.contains { $0.profileValue(attribute)?.stringValue != nil }, "\(attribute)")
        }
        // Apps directly and through groups; devices of every platform.
        #expect(users.contains { $0.assignedApps.contains { $0.scope == "USER" } })
        #expect(users.contains { $0.assignedApps.contains { $0.scope == "GROUP" } })
        let platforms = Set(users.flatMap { $0.devices.map(\.platform) })
        #expect(platforms == ["IOS", "ANDROID", "MACOS", "WINDOWS"])
        #expect(
            users.allSatisfy { user in
                [user.activated, user.lastLogin, user.passwordChanged].allSatisfy {
                    ($0 ?? user.created) <= user.lastUpdated
                }
            })
    }

    @Test func generatedGroupsLeaveTheGeneratedUsersAsTheyWere() {
        let without = OrgBlueprint(seed: 7, userCount: 200, groupCount: 0)
        let with = OrgBlueprint(seed: 7, userCount: 200, groupCount: 40)
        var memberships = 0
        for index in 0..<200 {
            let plain = without.user(at: index)
            let grouped = with.user(at: index)
            #expect(plain.oktaUser == grouped.oktaUser)
            #expect(plain.devices == grouped.devices)
            #expect(plain.directApps == grouped.directApps)
            #expect(plain.assignedApps.map(\.app) == grouped.assignedApps.map(\.app))
            // The groups that assign apps are the same; the generated ones come on top.
            #expect(grouped.groups.filter { $0 < OrgBlueprint.firstGeneratedGroupIndex } == plain.groups)
            #expect(plain.groups.allSatisfy { $0 < OrgBlueprint.firstGeneratedGroupIndex })
            memberships += grouped.groups.count - plain.groups.count
        }
        #expect(memberships > 200, "a few generated groups per user")
        let org = SimulatedOrg(blueprint: with)
        let again = SimulatedOrg(blueprint: OrgBlueprint(seed: 7, userCount: 200, groupCount: 40))
        #expect(org.groups() == again.groups())
        #expect(org.groups().count == 1 + 12 + 40)
        #expect(Set(org.groups().map(\.name)).count == org.groups().count)
    }

    @Test func aMillionUserOrgStartsWithoutGeneratingEveryone() {
        let started = Date()
        let org = SimulatedOrg(blueprint: OrgBlueprint(seed: 7, userCount: 1_000_000))
        let last = org.user(at: 999_999)
        #expect(last != nil)
        #expect(org.user(idOrLogin: last!.id)?.index == 999_999)
        #expect(org.user(idOrLogin: last!.login)?.index == 999_999)
        #expect(org.user(at: 1_000_000) == nil)
        #expect(Date().timeIntervalSince(started) < 1)
    }

    @Test func mutationsUpdateTimestampsAndEmitEvents() throws {
        let clock = ManualClock(now: Timestamp.parse("2026-07-01T12:00:00Z")!.date)
        let org = SimulatedOrg(blueprint: OrgBlueprint(seed: 7, userCount: 50), clock: clock)
        let emitted = EventCollector()
        org.onEvents { emitted.append($0) }
        let user = try #require((0..<50).compactMap { org.user(at: $0) }.first { $0.status == .active })
        try org.updateProfile(id: user.id, changes: ["title": "Chief Tester"])
        var changed = try #require(org.user(idOrLogin: user.id))
        #expect(changed.profileValue("title") == "Chief Tester")
        #expect(changed.lastUpdated == Timestamp(clock.now))
        try org.apply(.suspend, to: user.id)
        changed = try #require(org.user(idOrLogin: user.id))
        #expect(changed.status == .suspended)
        #expect(changed.statusChanged == Timestamp(clock.now))
        try org.recordLogin(userId: user.id)
        #expect(org.user(idOrLogin: user.id)?.lastLogin == Timestamp(clock.now))
        #expect(throws: SimulatedOrg.MutationError.self) { try org.apply(.suspend, to: user.id) }
        try org.apply(.delete, to: user.id)
        #expect(org.user(idOrLogin: user.id) == nil)
        let types = emitted.events.map(\.eventType)
        #expect(
            types == [
                "user.account.update_profile", "user.lifecycle.suspend", "user.session.start",
                "user.lifecycle.deactivate", "user.lifecycle.delete.initiated",
            ])
        // Every emitted event names its user the way SPEC §5 finds it.
        #expect(emitted.events.allSatisfy { $0.subjectUserId == user.id })
    }
}

final class EventCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [OktaLogEvent] = []

    func append(_ events: [OktaLogEvent]) {
        lock.lock()
        stored += events
        lock.unlock()
    }

    var events: [OktaLogEvent] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}
