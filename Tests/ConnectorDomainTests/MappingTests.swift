import ConnectorDomain
import ConnectorTestSupport
import Foundation
import Testing

@Suite("Mapping to Neurons target attributes (SPEC §8)")
struct MappingTests {
    let mapper = UserMapper()

    @Test func fullyPopulatedUserMapsEveryTargetAttribute() throws {
        let user = try decodeJSON(OktaUser.self, UserFixtures.full)
        let snapshot = UserSnapshot(
            user: user,
            apps: [
                AssignedApp(appName: "salesforce", label: "Salesforce", instanceId: "0oa2"),
                AssignedApp(appName: "box", label: "Box", instanceId: "0oa1"),
            ],
            devices: [
                DeviceSummary(
                    id: "guo2", name: "Isaac's iPhone", platform: "IOS", osVersion: "17.4", manufacturer: "APPLE",
                    model: "iPhone15,4", serialNumber: "HQPWN2JYWK"),
                DeviceSummary(
                    id: "guo1", name: "ISAAC-LAPTOP", platform: "MACOS", osVersion: "14.4", manufacturer: nil,
                    model: "MacBookPro18,3", serialNumber: nil),
            ])
        let record = mapper.record(for: snapshot)
        let a = record.attributes
        #expect(record.key == "00ub0oNGTSWTBKOLGLNR")
        #expect(a["User.FullName"] == "Isaac K. Brock")
        #expect(a["User.FirstName"] == "Isaac")
        #expect(a["User.LastName"] == "Brock")
        #expect(a["User.MiddleName"] == "Kent")
        #expect(a["User.LoginID"] == "isaac.brock@example.com")
        #expect(a["User.Email"] == "isaac.brock@example.com")
        #expect(a["User.SecondEmail"] == "isaac@home.example.com")
        #expect(a["User.PhoneNumber"] == "+1 555 415 1337")
        #expect(a["User.MobilePhone"] == "+1 555 415 1338")
        #expect(a["User.StreetAddress"] == "301 Brannan St.")
        #expect(a["User.City"] == "San Francisco")
        #expect(a["User.State"] == "CA")
        #expect(a["User.ZipCode"] == "94107")
        #expect(a["User.Country"] == "US")
        #expect(a["User.JobTitle"] == "Director")
        #expect(a["User.TimeZone"] == "America/Los_Angeles")
        #expect(a["User.PreferredLanguage"] == "en-US")
        #expect(a["User.EmployeeNumber"] == "187")
        #expect(a["User.Department"] == "Engineering")
        #expect(a["User.Division"] == "R&D")
        #expect(a["User.Organization"] == "Okta")
        #expect(a["User.CostCenter"] == "10")
        #expect(a["User.Manager"] == "Jane Doe")
        #expect(a["User.AccountStatus"] == "ACTIVE")
        #expect(a["User.LastLogon"] == "2013-06-24T17:39:19.000Z")
        #expect(a["User.LastPasswordChange"] == "2013-07-02T21:36:25.344Z")
        #expect(a["User.Created"] == "2013-06-24T16:39:18.000Z")
        #expect(a["User.LastUpdated"] == "2013-07-02T21:36:25.344Z")
        #expect(a["Application.Okta.UserId"] == "00ub0oNGTSWTBKOLGLNR")
        #expect(a["Application.Okta.Profile.nickName"] == "issac")
        #expect(a["Application.Okta.Profile.managerId"] == "00ub0oNGTSWTBKOLGLNQ")
        #expect(a["Application.Okta.Profile.locale"] == "en_US")
        #expect(a["Application.Okta.Profile.userType"] == "Employee")
        // Consumed profile attributes do not reappear under Application.Okta.Profile.
        #expect(a["Application.Okta.Profile.firstName"] == nil)
        #expect(a["Application.Okta.Profile.displayName"] == nil)
        #expect(
            a["User.AssignedApps"]
                == [
                    ["AppName": "box", "AppLabel": "Box", "AppInstanceId": "0oa1"],
                    ["AppName": "salesforce", "AppLabel": "Salesforce", "AppInstanceId": "0oa2"],
                ])
        #expect(
            a["User.Devices"]
                == [
                    [
                        "Device.Name": "ISAAC-LAPTOP", "Device.Type": "Computer", "OS.Name": "macOS",
                        "OS.Version": "14.4", "Device.Model": "MacBookPro18,3",
                    ],
                    [
                        "Device.Name": "Isaac's iPhone", "Device.Type": "Mobile", "OS.Name": "iOS",
                        "OS.Version": "17.4", "Device.Manufacturer": "APPLE", "Device.Model": "iPhone15,4",
                        "Device.SerialNumber": "HQPWN2JYWK",
                    ],
                ])
        // Every attribute the mapping produced is in the table operators download.
        let tableTargets = Set(mapper.table.map(\.target))
        for target in a.keys where !target.hasPrefix(UserMapper.profilePrefix) {
            #expect(tableTargets.contains(target), "\(target) missing from the mapping table")
        }
    }

    @Test func minimalUserLeavesAbsentValuesOut() throws {
        let user = try decodeJSON(OktaUser.self, UserFixtures.minimal)
        let record = mapper.record(for: UserSnapshot(user: user))
        #expect(
            Set(record.attributes.keys) == [
                "User.LoginID", "User.Email", "User.AccountStatus", "User.Created", "User.LastUpdated",
                "Application.Okta.UserId",
            ])
        #expect(record.attributes["User.FullName"] == nil)
        #expect(record.attributes["User.AssignedApps"] == nil, "not enriched means absent")
    }

    @Test func enrichedWithNothingIsAnEmptyList() throws {
        let user = try decodeJSON(OktaUser.self, UserFixtures.minimal)
        let record = mapper.record(for: UserSnapshot(user: user, apps: [], devices: []))
        #expect(record.attributes["User.AssignedApps"] == [])
        #expect(record.attributes["User.Devices"] == [])
    }

    @Test func customAttributesAndUnicodeAreKept() throws {
        let user = try decodeJSON(OktaUser.self, UserFixtures.customAndUnicode)
        let a = mapper.record(for: UserSnapshot(user: user)).attributes
        // An empty displayName falls back to first and last name.
        #expect(a["User.FullName"] == "Zoë Ångström-王")
        #expect(a["User.JobTitle"] == "Ingénieure « senior »")
        #expect(a["User.Department"] == "Тестирование")
        #expect(a["Application.Okta.Profile.badgeNumber"] == .integer(12345))
        #expect(a["Application.Okta.Profile.isContractor"] == .bool(true))
        #expect(a["Application.Okta.Profile.hourlyRate"] == .double(42.5))
        #expect(a["Application.Okta.Profile.skills"] == ["swift", "okta"])
        #expect(a["Application.Okta.Profile.badge"] == ["floor": 3, "wing": "東"])
        #expect(a["Application.Okta.Profile.emptyCustom"] == nil)
        #expect(a["User.AccountStatus"] == "PASSWORD_EXPIRED")
    }

    @Test func overridesReplaceAndAddTargets() throws {
        let user = try decodeJSON(OktaUser.self, UserFixtures.full)
        let mapper = UserMapper(overrides: [
            "User.CostCenter": try UserFieldPath(parsing: "profile.division"),
            "User.Activated": try UserFieldPath(parsing: "activated"),
            "User.TypeId": try UserFieldPath(parsing: "type.id"),
            "User.Floor": try UserFieldPath(parsing: "profile.badge.floor"),
        ])
        let a = mapper.record(for: UserSnapshot(user: user)).attributes
        #expect(a["User.CostCenter"] == "R&D")
        #expect(a["User.Activated"] == "2013-06-24T16:39:19.000Z")
        #expect(a["User.TypeId"] == "otyfnjfba4ye7pgjB0g4")
        #expect(a["User.Floor"] == nil, "a path to an absent value leaves the target absent")
        let table = mapper.table
        #expect(table.first { $0.target == "User.CostCenter" }?.source == "profile.division")
        #expect(table.contains { $0.target == "User.Activated" && $0.source == "activated" })
    }

    @Test(arguments: ["", "profile", "profile.", "credentials.password", "lastLogin.x", "type", "bogus", "profile.a b"])
    func invalidFieldPathsAreRejected(_ path: String) {
        #expect(throws: UserFieldPath.Invalid.self) { try UserFieldPath(parsing: path) }
    }

    @Test func mappingTableCSVQuotesFieldsWithCommasAndQuotes() {
        let csv = mapper.tableCSV
        let lines = csv.components(separatedBy: "\r\n")
        #expect(lines[0] == "target attribute,Okta source,notes")
        #expect(lines[1] == #"User.FullName,profile.displayName,"else profile.firstName + "" "" + profile.lastName""#)
        #expect(lines.contains { $0.hasPrefix("User.Devices,devices,\"list of {Device.Name, ") })
        #expect(mapper.tableMarkdown.hasPrefix("| target attribute | Okta source | notes |\n| --- | --- | --- |\n"))
    }
}

@Suite("Canonical encoding and hash")
struct CanonicalEncodingTests {
    @Test func keysAreSortedAndNumbersStable() {
        let value: JSONValue = [
            "b": 1, "a": [1.0, 2.5, -0.125, 1e21], "é": "x", "Z": .null, "c": ["y": true, "x": false],
            "s": "line\nbreak \"quoted\" \\ tab\t\u{01}",
        ]
        #expect(
            CanonicalJSON.string(value)
                == #"{"Z":null,"a":[1,2.5,-0.125,1e+21],"b":1,"c":{"x":false,"y":true},"s":"line\nbreak \"quoted\" \\ tab\t\u0001","é":"x"}"#
        )
    }

    @Test func equalRecordsHashEqualWhateverTheirOrigin() throws {
        let user = try decodeJSON(OktaUser.self, UserFixtures.full)
        let apps = [
            AssignedApp(appName: "box", label: "Box", instanceId: "0oa1"),
            AssignedApp(appName: "salesforce", label: "Salesforce", instanceId: "0oa2"),
        ]
        let first = UserMapper().record(for: UserSnapshot(user: user, apps: apps))
        // Same apps in another order (as the bulk plan may find them) and a re-decoded user.
        let again = try JSONCoding.decode(OktaUser.self, from: try JSONCoding.string(user))
        let second = UserMapper().record(for: UserSnapshot(user: again, apps: apps.reversed()))
        #expect(first.contentHash == second.contentHash)
        var changed = user
        changed.profile["title"] = "VP"
        #expect(UserMapper().record(for: UserSnapshot(user: changed, apps: apps)).contentHash != first.contentHash)
    }

    @Test func theFastSnapshotEncodingIsTheCodableShape() throws {
        let user = try decodeJSON(OktaUser.self, UserFixtures.customAndUnicode)
        let snapshot = UserSnapshot(
            user: user, apps: [AssignedApp(appName: "box", label: "Box \"quoted\"", instanceId: "0oa1")],
            devices: [
                DeviceSummary(
                    id: "guo1", name: "Mac", platform: "MACOS", osVersion: nil, manufacturer: "APPLE", model: nil,
                    serialNumber: "C02")
            ])
        let fast = snapshot.encodedJSON
        #expect(try JSONCoding.decode(UserSnapshot.self, from: fast) == snapshot)
        #expect(fast == (try JSONCoding.string(snapshot)), "byte for byte what JSONEncoder writes with sorted keys")
        let bare = UserSnapshot(user: try decodeJSON(OktaUser.self, UserFixtures.minimal))
        #expect(try JSONCoding.decode(UserSnapshot.self, from: bare.encodedJSON) == bare)
    }

    /// The hash is SHA-256 over the canonical JSON of `{"attributes": ..., "key": ...}`; the expected
    /// value was computed independently with Python:
    /// `hashlib.sha256(json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())`.
    @Test func hashIsStableAcrossProcessesAndImplementations() {
        let record = NeuronsRecord(
            key: "00u1", attributes: ["User.FullName": "Zoë 王", "User.AccountStatus": "ACTIVE", "n": 3, "l": [true]])
        #expect(record.contentHash == "958615988b22be3f905c774dd542a655f2a510fd6e16b98d840ce0721d20e2f7")
    }
}
