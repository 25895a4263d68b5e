import ConnectorDomain
import Foundation

/// The groups an org starts with: `Everyone` (every user), the groups that assign apps, and
/// `groupCount` generated groups with memberships drawn from a stream of their own.
extension OrgBlueprint {
    /// The index of `Everyone`, apart from every other group's (its id encodes it).
    public static let everyoneGroupIndex = Int(Int32.max)

    /// The index of the first generated group: after the groups that assign apps.
    public static var firstGeneratedGroupIndex: Int { NameCatalogue.groups.count }

    /// Every group the org starts with, `Everyone` first.
    func groups() -> [SimGroup] {
        [everyoneGroup()]
            + (0..<(Self.firstGeneratedGroupIndex + groupCount)).map { generatedGroup(at: $0) }
    }

    /// `Everyone`: older than every user, its memberships changed with the newest user.
    func everyoneGroup() -> SimGroup {
        let day: Int64 = 86_400_000
        let created = Timestamp(millisecondsSinceEpoch: epoch.millisecondsSinceEpoch - 3700 * day)
        return SimGroup(
            index: Self.everyoneGroupIndex, id: ids.group(Self.everyoneGroupIndex), type: .builtIn, name: "Everyone",
            description: "All users in your organization", created: created, lastUpdated: created,
            lastMembershipUpdated: Timestamp(millisecondsSinceEpoch: epoch.millisecondsSinceEpoch - 30 * day))
    }

    /// A group that assigns apps (`index` below ``firstGeneratedGroupIndex``) or a generated one.
    func generatedGroup(at index: Int) -> SimGroup {
        var random = SplitMix64(seed: seed, stream: 5, index: index)
        let day: Int64 = 86_400_000
        let created = Timestamp(
            millisecondsSinceEpoch: epoch.millisecondsSinceEpoch - Int64(3000 + random.below(600)) * day
                - Int64(random.below(86_400_000)))
        let lastUpdated = Timestamp(
            millisecondsSinceEpoch: created.millisecondsSinceEpoch + Int64(random.below(2900)) * day)
        let lastMembershipUpdated = Timestamp(
            millisecondsSinceEpoch: epoch.millisecondsSinceEpoch - Int64(1 + random.below(30)) * day
                - Int64(random.below(86_400_000)))
        var group = SimGroup(
            index: index, id: ids.group(index), type: .oktaGroup, name: "", description: nil, created: created,
            lastUpdated: lastUpdated, lastMembershipUpdated: lastMembershipUpdated)
        let generated = index - Self.firstGeneratedGroupIndex
        if generated < 0 {
            group.name = NameCatalogue.groups[index].name
            group.description = NameCatalogue.groups[index].description
        } else if generated < NameCatalogue.generatedGroups.count {
            let entry = NameCatalogue.generatedGroups[generated]
            group.name = entry.name
            group.description = entry.description
            if let directoryName = entry.directory {
                group.type = .appGroup
                let guid = (0..<16).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                group.directory = SimGroup.DirectoryProfile(
                    samAccountName: directoryName, dn: "CN=\(directoryName),OU=Groups,DC=corp,DC=example",
                    windowsDomainQualifiedName: "CORP\\\(directoryName)",
                    externalId: Data(guid).base64EncodedString())
            }
        } else {
            group.name = "Project Team \(generated + 1)"
        }
        return group
    }

    /// The generated groups a generated user is in (a few each; most users in `Domain Users`), from a
    /// generator stream of their own.
    func generatedGroupMemberships(at index: Int) -> [Int] {
        guard groupCount > 0 else { return [] }
        var random = SplitMix64(seed: seed, stream: 4, index: index)
        var picked: Set<Int> = []
        for _ in 0..<random.weighted([25, 40, 25, 10]) { picked.insert(random.below(groupCount)) }
        if groupCount > NameCatalogue.domainUsersGroup, random.chance(0.6) {
            picked.insert(NameCatalogue.domainUsersGroup)
        }
        return picked.sorted().map { Self.firstGeneratedGroupIndex + $0 }
    }
}
