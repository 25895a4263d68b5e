import ConnectorDomain
import ConnectorTestSupport
import Foundation
import Testing

/// Fixtures written from Okta's documented user shape (Users API, `User` schema).
enum UserFixtures {
    static let full = """
        {
          "id": "00ub0oNGTSWTBKOLGLNR",
          "status": "ACTIVE",
          "created": "2013-06-24T16:39:18.000Z",
          "activated": "2013-06-24T16:39:19.000Z",
          "statusChanged": "2013-06-24T16:39:19.000Z",
          "lastLogin": "2013-06-24T17:39:19.000Z",
          "lastUpdated": "2013-07-02T21:36:25.344Z",
          "passwordChanged": "2013-07-02T21:36:25.344Z",
          "type": { "id": "otyfnjfba4ye7pgjB0g4" },
          "profile": {
            "login": "isaac.brock@example.com",
            "firstName": "Isaac",
            "lastName": "Brock",
            "middleName": "Kent",
            "displayName": "Isaac K. Brock",
            "nickName": "issac",
            "email": "isaac.brock@example.com",
            "secondEmail": "isaac@home.example.com",
            "primaryPhone": "+1 555 415 1337",
            "mobilePhone": "+1 555 415 1338",
            "streetAddress": "301 Brannan St.",
            "city": "San Francisco",
            "state": "CA",
            "zipCode": "94107",
            "countryCode": "US",
            "title": "Director",
            "timezone": "America/Los_Angeles",
            "preferredLanguage": "en-US",
            "employeeNumber": "187",
            "department": "Engineering",
            "division": "R&D",
            "organization": "Okta",
            "costCenter": "10",
            "manager": "Jane Doe",
            "managerId": "00ub0oNGTSWTBKOLGLNQ",
            "locale": "en_US",
            "userType": "Employee"
          },
          "credentials": {
            "password": {},
            "recovery_question": { "question": "Who's a major player in the cowboy scene?" },
            "provider": { "type": "OKTA", "name": "OKTA" }
          },
          "_links": { "self": { "href": "https://{yourOktaDomain}/api/v1/users/00ub0oNGTSWTBKOLGLNR" } }
        }
        """

    static let minimal = """
        {"id":"00u1minimal","status":"STAGED","created":"2020-08-27T18:19:24.000Z","activated":null,
         "statusChanged":null,"lastLogin":null,"lastUpdated":"2020-08-27T18:19:24.000Z","passwordChanged":null,
         "type":{"id":"oty1"},"profile":{"login":"m@example.com","firstName":null,"lastName":null,
         "mobilePhone":null,"secondEmail":null,"email":"m@example.com"},"credentials":{"provider":{"type":"OKTA"}}}
        """

    static let customAndUnicode = """
        {"id":"00u1unicode","status":"PASSWORD_EXPIRED","lastUpdated":"2024-02-29T23:59:59.999Z",
         "futureKey":{"nested":[1,2,3]},
         "profile":{"login":"zoë@example.com","firstName":"Zoë","lastName":"Ångström-王",
           "email":"zoë@example.com","title":"Ingénieure « senior »","city":"Zürich",
           "department":"Тестирование","displayName":"",
           "badgeNumber":12345,"isContractor":true,"hourlyRate":42.5,"skills":["swift","okta"],
           "badge":{"floor":3,"wing":"東"},"emptyCustom":null,"nickName":"😀 \\"Zo\\""}}
        """
}

@Suite("Okta user decoding")
struct OktaUserDecodingTests {
    @Test func fullyPopulatedUserDecodesEveryField() throws {
        let user = try decodeJSON(OktaUser.self, UserFixtures.full)
        #expect(user.id == "00ub0oNGTSWTBKOLGLNR")
        #expect(user.knownStatus == .active)
        #expect(user.created == ts("2013-06-24T16:39:18.000Z"))
        #expect(user.lastLogin == ts("2013-06-24T17:39:19.000Z"))
        #expect(user.passwordChanged == ts("2013-07-02T21:36:25.344Z"))
        #expect(user.typeId == "otyfnjfba4ye7pgjB0g4")
        #expect(user.profile["employeeNumber"] == "187")
        #expect(user.profile.count == 27)
    }

    @Test func nullsReadAsAbsentAndUnknownKeysAreIgnored() throws {
        let user = try decodeJSON(OktaUser.self, UserFixtures.minimal)
        #expect(user.activated == nil)
        #expect(user.lastLogin == nil)
        #expect(user.profile["firstName"] == .null)
        #expect(user.knownStatus == .staged)
    }

    @Test func customAttributesKeepTheirJSONTypes() throws {
        let user = try decodeJSON(OktaUser.self, UserFixtures.customAndUnicode)
        #expect(user.profile["badgeNumber"] == .integer(12345))
        #expect(user.profile["isContractor"] == .bool(true))
        #expect(user.profile["hourlyRate"] == .double(42.5))
        #expect(user.profile["skills"] == ["swift", "okta"])
        #expect(user.profile["badge"]?["wing"] == "東")
        #expect(user.profile["lastName"] == "Ångström-王")
    }

    @Test func unknownStatusIsKeptButNotKnown() throws {
        let user = try decodeJSON(OktaUser.self, #"{"id":"00u1","status":"SOMETHING_NEW","profile":{}}"#)
        #expect(user.status == "SOMETHING_NEW")
        #expect(user.knownStatus == nil)
    }

    @Test func wrongTypeInAKnownFieldFails() {
        #expect(throws: DecodingError.self) {
            try decodeJSON(OktaUser.self, #"{"id":"00u1","status":"ACTIVE","lastLogin":"yesterday","profile":{}}"#)
        }
        #expect(throws: DecodingError.self) {
            try decodeJSON(OktaUser.self, #"{"status":"ACTIVE","profile":{}}"#)
        }
    }

    @Test func theReconcilesDirectReaderReadsEveryKeyTheDecoderReads() throws {
        // One sample per key the decoder reads: a key added to the decoder fails here until it has
        // one, and the fast path must then read it (or leave users carrying it to the decoder).
        let samples: [String: String] = [
            "id": #""00u2""#, "status": #""SUSPENDED""#, "created": #""2013-06-24T16:39:18.000Z""#,
            "activated": #""2013-06-24T16:39:19.000Z""#, "statusChanged": #""2013-06-24T16:39:19.000Z""#,
            "lastLogin": #""2013-06-24T17:39:19.000Z""#, "lastUpdated": #""2013-07-02T21:36:25.344Z""#,
            "passwordChanged": #""2013-07-02T21:36:25.344Z""#, "type": #"{"id":"oty1"}"#,
            "profile": #"{"login":"a@example.com","n":1}"#,
        ]
        let base = #"{"id":"00u1","status":"ACTIVE""#
        let plain = try OktaUserPage(parsing: Array("[\(base)}]".utf8)).decodeUser(at: 0)
        for key in OktaUser.decodedKeys {
            let sample = try #require(samples[key], "a sample for \(key)")
            let object =
                key == "id" || key == "status"
                ? base.replacingOccurrences(of: key == "id" ? #""00u1""# : #""ACTIVE""#, with: sample) + "}"
                : "\(base),\"\(key)\":\(sample)}"
            let page = try OktaUserPage(parsing: Array("[\(object)]".utf8))
            let decoded = try JSONCoding.decoder().decode(OktaUser.self, from: Data(object.utf8))
            #expect(try page.decodeUser(at: 0) == decoded, "\(key)")
            #expect(decoded != plain, "the sample for \(key) is read")
            #expect(page.readsDirectly(at: 0), "\(key) takes the quick way")
        }
    }

    @Test func encodingRoundTrips() throws {
        let user = try decodeJSON(OktaUser.self, UserFixtures.customAndUnicode)
        let again = try JSONCoding.decode(OktaUser.self, from: try JSONCoding.string(user))
        #expect(again == user)
    }

    @Test func userDevicesDecodeFromTheDocumentedShape() throws {
        let json = """
            [{"created":"2020-11-03T21:47:01.000Z","deviceUserId":"lnk46w61OLJz1uSQW0g4",
              "device":{"id":"guo8jx5vVoxfvJeLb0w4","status":"ACTIVE","created":"2020-11-03T21:47:01.000Z",
                "lastUpdated":"2020-11-03T23:46:27.000Z",
                "profile":{"displayName":"DESKTOP-EHAD3IE","platform":"WINDOWS","manufacturer":"International Corp",
                  "model":"VMware7,1","osVersion":"10.0.18362","serialNumber":"56 4d","registered":true},
                "resourceType":"UDDevice","resourceAlternateId":null,"_links":{}}}]
            """
        let devices = try decodeJSON([OktaUserDevice].self, json)
        #expect(devices.count == 1)
        let summary = devices[0].device.summary
        #expect(summary.neuronsDeviceType == "Computer")
        #expect(summary.neuronsOSName == "Windows")
        #expect(summary.osVersion == "10.0.18362")
    }
}

@Suite("Conformance with Okta's recorded responses")
struct RecordingConformanceTests {
    /// Every recording whose body holds users (directly or inside `user` of device users) decodes.
    @Test func everyRecordedUserDecodes() throws {
        guard let folder = SharedOktaData.require("recordings", test: "everyRecordedUserDecodes") else { return }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }
        #expect(!files.isEmpty)
        var users = 0
        var devices = 0
        var appLinks = 0
        var errors = 0
        for file in files.sorted() {
            let data = try Data(contentsOf: folder.appendingPathComponent(file))
            let recording = try JSONCoding.decoder().decode(JSONValue.self, from: data)
            guard case .object(let response)? = recording["response"], let body = response["body"] else { continue }
            let bodyData = try JSONCoding.encoder().encode(body)
            let uri = recording["request"]?["uri"]?.stringValue ?? ""
            if case .object(let object) = body, object["errorCode"] != nil {
                let error = try JSONCoding.decoder().decode(OktaErrorBody.self, from: bodyData)
                #expect(error.errorCode.hasPrefix("E0000"), "\(file)")
                errors += 1
            } else if uri.contains("/appLinks") {
                appLinks += try JSONCoding.decoder().decode([OktaAppLink].self, from: bodyData).count + 1
            } else if uri.contains("/api/v1/devices"), uri.contains("/users") {
                for item in try JSONCoding.decoder().decode([JSONValue].self, from: bodyData) {
                    let user = try JSONCoding.decoder().decode(
                        OktaUser.self, from: try JSONCoding.encoder().encode(item["user"] ?? .null))
                    #expect(!user.id.isEmpty)
                    users += 1
                }
            } else if uri.contains("/api/v1/devices") {
                let decoded = try JSONCoding.decoder().decode([OktaDevice].self, from: bodyData)
                #expect(decoded.allSatisfy { $0.profile.platform != nil }, "\(file)")
                devices += decoded.count
            } else if uri.contains("/api/v1/users") {
                let list: [JSONValue]
                if case .array(let items) = body { list = items } else { list = [body] }
                for item in list {
                    let user = try JSONCoding.decoder().decode(
                        OktaUser.self, from: try JSONCoding.encoder().encode(item))
                    #expect(user.knownStatus != nil, "\(file): status \(user.status)")
                    // The mapping accepts every recorded user.
                    let record = UserMapper().record(for: UserSnapshot(user: user))
                    #expect(record.attributes["Application.Okta.UserId"] == .string(user.id))
                    users += 1
                }
            }
        }
        #expect(users >= 5)
        #expect(devices >= 1)
        #expect(appLinks >= 1)
        #expect(errors >= 2)
        print(
            "conformance: decoded \(users) users, \(devices) devices, \(errors) error bodies from \(files.count) recordings"
        )
    }
}
