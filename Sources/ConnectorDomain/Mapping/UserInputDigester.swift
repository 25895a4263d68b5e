import Crypto

/// The digest of everything a user's record and stored snapshot are made from: the raw user object
/// as Okta sent it (without `_links`, see ``RawOktaUser/digest``), its enrichment, the mapping
/// configuration and the revision of the mapping code.
///
/// Equal digests mean an equal snapshot and an equal record, so a reconcile that finds the stored
/// digest equal to the listed one skips decoding, mapping and hashing that user altogether.
public struct UserInputDigester: Sendable {
    /// The revision of the mapping and of the snapshot's stored form. Bump it whenever
    /// ``UserMapper/record(for:)``, ``OktaUser``'s decoding or ``UserSnapshot/encodedJSON`` change
    /// what they produce, so that digests stored by an older version stop matching.
    public static let revision = 1

    let prefix: [UInt8]
    let apps: Bool
    let devices: Bool
    let groups: Bool

    /// Creates a digester for one mapping and enrichment setup.
    /// - Parameters:
    ///   - mapper: The mapping (its overrides are part of every digest).
    ///   - apps: Whether the record carries apps.
    ///   - devices: Whether the record carries devices.
    ///   - groups: Whether the record carries groups.
    public init(mapper: UserMapper, apps: Bool, devices: Bool, groups: Bool = false) {
        self.apps = apps
        self.devices = devices
        self.groups = groups
        var setup: [String: JSONValue] = [
            "revision": .integer(Int64(Self.revision)), "apps": .bool(apps), "devices": .bool(devices),
        ]
        // Only named when on, so that the digests of a setup without groups stay what they were.
        if groups { setup["groups"] = .bool(true) }
        setup["overrides"] = .object(mapper.overrides.mapValues { .string($0.description) })
        prefix = CanonicalJSON.encode(.object(setup))
    }

    /// The digest of one user's inputs, as 64 hex digits.
    /// - Parameters:
    ///   - rawDigest: The digest of the raw user object.
    ///   - enrichmentApps: The apps the record is mapped with (ignored unless apps are on).
    ///   - enrichmentDevices: The devices the record is mapped with (ignored unless devices are on).
    ///   - enrichmentGroups: The groups the record is mapped with (ignored unless groups are on).
    public func digest(
        rawDigest: [UInt8], apps enrichmentApps: [AssignedApp], devices enrichmentDevices: [DeviceSummary],
        groups enrichmentGroups: [GroupMembership] = []
    )
        -> String
    {
        var hasher = SHA256()
        hasher.update(data: prefix)
        hasher.update(data: [0])
        hasher.update(data: rawDigest)
        // The enrichment in the order the snapshot keeps it: equal digests mean equal snapshot text.
        if apps { hasher.update(data: CanonicalJSON.encode(UserSnapshot.appsJSON(enrichmentApps))) }
        hasher.update(data: [0])
        if devices { hasher.update(data: CanonicalJSON.encode(UserSnapshot.devicesJSON(enrichmentDevices))) }
        if groups {
            hasher.update(data: [0])
            hasher.update(data: CanonicalJSON.encode(UserSnapshot.groupsJSON(enrichmentGroups)))
        }
        return CanonicalJSON.hex(hasher.finalize())
    }
}
