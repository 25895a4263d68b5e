public import ConnectorDomain
import Foundation

/// The seeded, immutable description of an org: user `i` is a pure function of (seed, i), so an org
/// of a million users starts in no time and uses memory only for what was changed since.
public struct OrgBlueprint: Sendable {
    public let seed: UInt64
    /// Users generated from the seed (indices `0..<userCount`).
    public let userCount: Int
    /// Groups generated besides `Everyone` and the groups that assign apps.
    public let groupCount: Int
    let ids: OktaIdentifiers
    /// The "now" of the generated history; all generated timestamps are before it.
    public let epoch: Timestamp
    /// The email domain of generated logins.
    public let domain: String

    /// Creates a blueprint.
    /// - Parameters:
    ///   - seed: Same seed, same org.
    ///   - userCount: How many users to generate.
    ///   - groupCount: How many groups to generate besides `Everyone` and the groups that assign apps.
    ///   - epoch: The instant the generated history ends at.
    public init(
        seed: UInt64, userCount: Int, groupCount: Int = 8,
        epoch: Timestamp = Timestamp.parse("2026-06-01T00:00:00Z")!
    ) {
        self.seed = seed
        self.userCount = userCount
        self.groupCount = max(0, groupCount)
        self.ids = OktaIdentifiers(seed: seed)
        self.epoch = epoch
        self.domain = "example.com"
    }

    static let statusWeights: [(OktaUserStatus, Int)] = [
        (.staged, 2), (.provisioned, 4), (.active, 78), (.recovery, 1), (.passwordExpired, 2), (.lockedOut, 2),
        (.suspended, 4), (.deprovisioned, 7),
    ]

    /// The generated status of a user, cheaper than generating the whole user (for filters).
    func generatedStatus(at index: Int) -> OktaUserStatus {
        var random = SplitMix64(seed: seed, stream: 2, index: index)
        return Self.statusWeights[random.weighted(Self.statusWeights.map(\.1))].0
    }

    /// A generated user's groups, direct app assignments and device count, from a generator stream
    /// of their own: listings by app, group or device filter on these without generating whole users.
    func generatedLinks(at index: Int, status: OktaUserStatus? = nil) -> (
        groups: [Int], directApps: [Int], deviceCount: Int
    ) {
        var random = SplitMix64(seed: seed, stream: 3, index: index)
        var groups: [Int] = []
        if random.chance(0.9) { groups.append(0) }
        if random.chance(0.7) { groups.append(1 + random.below(NameCatalogue.groups.count - 1)) }
        if random.chance(0.2) { groups.append(1 + random.below(NameCatalogue.groups.count - 1)) }
        // The generated groups come from a stream of their own, so that the rest of the user does not
        // depend on how many groups are generated.
        groups = Array(Set(groups)).sorted() + generatedGroupMemberships(at: index)
        var directApps: [Int] = []
        for _ in 0..<random.weighted([50, 35, 15]) { directApps.append(random.below(NameCatalogue.apps.count)) }
        directApps = Array(Set(directApps)).sorted()
        let userStatus = status ?? generatedStatus(at: index)
        let deviceCount = [.staged, .provisioned].contains(userStatus) ? 0 : random.weighted([40, 40, 20])
        return (groups, directApps, deviceCount)
    }

    /// The generated user at an index.
    public func user(at index: Int) -> SimUser {
        var random = SplitMix64(seed: seed, stream: 1, index: index)
        let status = generatedStatus(at: index)
        let culture = NameCatalogue.cultures[random.weighted(NameCatalogue.cultureWeights)]
        let first = random.pick(culture.firstNames)
        let last = random.pick(culture.lastNames)
        let place = random.pick(culture.cities)
        let day: Int64 = 86_400_000
        let created = Timestamp(
            millisecondsSinceEpoch: epoch.millisecondsSinceEpoch - Int64(30 + random.below(3600)) * day
                - Int64(random.below(86_400_000)))
        var cursor = created.millisecondsSinceEpoch
        func later(maxDays: Int) -> Timestamp {
            let room = max(1, (epoch.millisecondsSinceEpoch - cursor) / day)
            cursor += Int64(random.below(Int(min(Int64(maxDays), room)) + 1)) * day / 2 + Int64(random.below(3_600_000))
            cursor = min(cursor, epoch.millisecondsSinceEpoch - 1000)
            return Timestamp(millisecondsSinceEpoch: cursor)
        }
        let activated: Timestamp? = status == .staged ? nil : later(maxDays: 3)
        let passwordChanged: Timestamp? = [.staged, .provisioned].contains(status) ? nil : later(maxDays: 400)
        let lastLogin: Timestamp? =
            [.staged, .provisioned].contains(status) || random.chance(0.1) ? nil : later(maxDays: 900)
        let statusChanged: Timestamp? = status == .staged ? nil : (status == .active ? activated : later(maxDays: 200))
        let lastUpdated = later(maxDays: 60)

        let login = "\(first.ascii).\(last.ascii).\(index)@\(domain)"
        var profile: [(key: String, value: JSONValue)] = []
        func optional(_ key: String, _ value: @autoclosure () -> JSONValue, present: Double, null: Double = 0.05) {
            let roll = Double(random.below(1000)) / 1000
            if roll < present {
                profile.append((key, value()))
            } else if roll < present + null {
                profile.append((key, .null))
            }
        }
        profile.append(("firstName", .string(first.text)))
        profile.append(("lastName", .string(last.text)))
        optional("middleName", .string(random.pick(["A.", "Marie", "J.", "Lee"])), present: 0.2, null: 0.3)
        optional(
            "mobilePhone", .string("+1 555 \(100 + random.below(900)) \(1000 + random.below(9000))"), present: 0.7,
            null: 0.1)
        optional("secondEmail", .string("\(first.ascii).\(index)@home.example.net"), present: 0.2, null: 0.3)
        profile.append(("login", .string(login)))
        profile.append(("email", .string(login)))
        optional("displayName", .string("\(first.text) \(last.text)"), present: 0.6)
        optional("title", .string(random.pick(NameCatalogue.titles)), present: 0.9)
        let department = random.pick(NameCatalogue.departments)
        optional("department", .string(department), present: 0.9)
        optional("division", .string(random.pick(NameCatalogue.divisions)), present: 0.6)
        optional("organization", .string("Acme Corporation"), present: 0.8)
        optional("costCenter", .string("CC-\(100 + random.below(40))"), present: 0.5)
        optional("employeeNumber", .string("\(100_000 + index)"), present: 0.85)
        optional(
            "manager", .string(random.pick(culture.firstNames).text + " " + random.pick(culture.lastNames).text),
            present: 0.7)
        optional("managerId", .string(ids.user(random.below(max(1, userCount)))), present: 0.6)
        optional("primaryPhone", .string("+1 555 010 \(1000 + random.below(9000))"), present: 0.5)
        optional(
            "streetAddress", .string("\(1 + random.below(400)) \(random.pick(NameCatalogue.streets))"), present: 0.6)
        optional("city", .string(place.city), present: 0.8)
        if let state = place.state { optional("state", .string(state), present: 0.8) }
        optional("zipCode", .string(String(10000 + random.below(89999))), present: 0.6)
        optional("countryCode", .string(place.country), present: 0.85)
        optional("timezone", .string(place.zone), present: 0.7)
        optional("preferredLanguage", .string(place.language), present: 0.6)
        optional("locale", .string(place.language.replacingOccurrences(of: "-", with: "_")), present: 0.7, null: 0)
        optional("userType", .string(random.chance(0.85) ? "Employee" : "Contractor"), present: 0.7)
        // Custom attributes of several JSON types.
        let contractor = random.chance(0.12)
        optional("isContractor", .bool(contractor), present: 0.8)
        optional("badgeNumber", .integer(Int64(10_000 + index)), present: 0.7)
        if contractor { optional("hourlyRate", .double(Double(40 + random.below(120)) + 0.5), present: 0.9) }
        optional(
            "skills", .array((0..<random.below(4)).map { _ in .string(random.pick(NameCatalogue.skills)) }),
            present: 0.5)
        optional(
            "building",
            .object(["floor": .integer(Int64(random.below(12))), "wing": .string(random.pick(["North", "東", "Süd"]))]),
            present: 0.4)

        let (groups, directApps, deviceCount) = generatedLinks(at: index, status: status)
        var devices: [SimDevice] = []
        for slot in 0..<deviceCount {
            let platform = NameCatalogue.platforms[random.weighted(NameCatalogue.platformWeights)]
            let model = random.pick(NameCatalogue.deviceModels[platform]!)
            let serial = String(
                (0..<10).map { _ in Character(Unicode.Scalar(OktaIdentifiers.alphabet[random.below(36)])) })
            let enrolled = later(maxDays: 300)
            devices.append(
                SimDevice(
                    index: index * SimDevice.slotsPerUser + slot, status: "ACTIVE", platform: platform,
                    displayName: platform == "WINDOWS"
                        ? "DESKTOP-\(serial.prefix(7))" : "\(first.text)'s \(model.model)",
                    manufacturer: model.manufacturer, model: model.model, osVersion: random.pick(model.os),
                    serialNumber: random.chance(0.8) ? serial : nil, created: enrolled, lastUpdated: enrolled))
        }
        return SimUser(
            index: index, id: ids.user(index), status: status, created: created, activated: activated,
            statusChanged: statusChanged, lastLogin: lastLogin,
            lastUpdated: max(
                lastUpdated,
                [activated, passwordChanged, lastLogin, statusChanged].compactMap { $0 }.max() ?? lastUpdated),
            passwordChanged: passwordChanged, typeId: ids.userType(), profile: profile, groups: groups,
            directApps: directApps, devices: devices)
    }

    /// The index encoded in a generated login (`first.last.INDEX@domain`).
    func index(fromLogin login: String) -> Int? {
        guard let at = login.lastIndex(of: "@"), login[login.index(after: at)...] == domain else { return nil }
        let local = login[..<at]
        guard let dot = local.lastIndex(of: ".") else { return nil }
        return Int(local[local.index(after: dot)...])
    }
}
