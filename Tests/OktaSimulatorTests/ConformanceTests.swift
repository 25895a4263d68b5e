import ConnectorDomain
import ConnectorTestSupport
import Foundation
import NIOHTTP1
import OktaSimulator
import Testing
import Yams

/// Checks JSON values against schemas of Okta's OpenAPI subset: every key must be a property of the
/// schema (unless it allows additional properties) and every non-null value of the declared type.
struct OpenAPISchemas {
    let schemas: [String: Any]

    init(url: URL) throws {
        let text = try String(contentsOf: url, encoding: .utf8)
        let document = try Yams.load(yaml: text) as? [String: Any]
        schemas = ((document?["components"] as? [String: Any])?["schemas"] as? [String: Any]) ?? [:]
    }

    func resolve(_ schema: [String: Any]) -> [String: Any] {
        var schema = schema
        if let reference = schema["$ref"] as? String, let name = reference.split(separator: "/").last,
            let target = schemas[String(name)] as? [String: Any]
        {
            schema = resolve(target)
        }
        if let parts = schema["allOf"] as? [[String: Any]] {
            var properties: [String: Any] = [:]
            var merged = schema
            for part in parts.map(resolve) {
                properties.merge((part["properties"] as? [String: Any]) ?? [:]) { first, _ in first }
                for (key, value) in part where key != "properties" { merged[key] = merged[key] ?? value }
            }
            merged["properties"] = properties
            merged["type"] = merged["type"] ?? "object"
            schema = merged
        }
        return schema
    }

    /// Problems of a value against a named schema; `alsoAllowed` are top-level keys known to be sent
    /// though not in the subset's schema.
    func check(_ value: JSONValue, against name: String, alsoAllowed: Set<String> = []) -> [String] {
        guard let schema = schemas[name] as? [String: Any] else { return ["no schema \(name)"] }
        return check(value, schema: schema, path: name).filter { problem in
            !alsoAllowed.contains { problem == "\(name).\($0): not in the schema" }
        }
    }

    func check(_ value: JSONValue, schema raw: [String: Any], path: String) -> [String] {
        let schema = resolve(raw)
        if case .null = value { return [] }
        if schema["oneOf"] != nil || schema["anyOf"] != nil { return [] }
        let type = schema["type"] as? String ?? (schema["properties"] != nil ? "object" : nil)
        switch type {
        case "object":
            guard case .object(let members) = value else { return ["\(path): expected an object"] }
            let properties = (schema["properties"] as? [String: Any]) ?? [:]
            let additional = schema["additionalProperties"]
            var problems: [String] = []
            for (key, member) in members {
                if let property = properties[key] as? [String: Any] {
                    problems += check(member, schema: property, path: "\(path).\(key)")
                } else if let additionalSchema = additional as? [String: Any] {
                    problems += check(member, schema: additionalSchema, path: "\(path).\(key)")
                } else if (additional as? Bool) != true {
                    problems.append("\(path).\(key): not in the schema")
                }
            }
            return problems
        case "array":
            guard case .array(let items) = value else { return ["\(path): expected an array"] }
            let itemSchema = (schema["items"] as? [String: Any]) ?? [:]
            return items.enumerated().flatMap { check($0.element, schema: itemSchema, path: "\(path)[\($0.offset)]") }
        case "string":
            guard case .string(let text) = value else { return ["\(path): expected a string"] }
            if schema["format"] as? String == "date-time", Timestamp.parse(text) == nil {
                return ["\(path): not a date-time: \(text)"]
            }
            if let allowed = schema["enum"] as? [Any], !allowed.contains(where: { "\($0)" == text }) {
                return ["\(path): \(text) is not one of the enum values"]
            }
            return []
        case "integer":
            if case .integer = value { return [] }
            return ["\(path): expected an integer"]
        case "number":
            switch value {
            case .integer, .double: return []
            default: return ["\(path): expected a number"]
            }
        case "boolean":
            if case .bool = value { return [] }
            return ["\(path): expected a boolean"]
        default:
            return []
        }
    }
}

@Suite("Simulator: conformance with Okta's OpenAPI subset and recordings", .timeLimit(.minutes(3)))
struct ConformanceTests {
    @Test func generatedObjectsMatchTheOpenAPISchemas() async throws {
        guard let folder = SharedOktaData.require("openapi", test: "generatedObjectsMatchTheOpenAPISchemas") else {
            return
        }
        let schemas = try OpenAPISchemas(url: folder.appendingPathComponent("okta-management-2026.06.3-subset.yaml"))
        try await withSimulator(users: 200) { simulator in
            let base = simulator.baseURL
            let users = try await request(
                "\(base)/api/v1/users?limit=200&filter=status%20eq%20%22ACTIVE%22%20or%20status%20eq%20%22STAGED%22")
            guard case .array(let list) = users.json else { throw TestFailure("users") }
            #expect(list.count > 100)
            for user in list { #expect(schemas.check(user, against: "User") == []) }

            let withApps = try #require(
                simulator.org.allUsers().first { !$0.assignedApps.isEmpty && !$0.devices.isEmpty })
            let links = try await request("\(base)/api/v1/users/\(withApps.id)/appLinks")
            guard case .array(let linkList) = links.json, !linkList.isEmpty else { throw TestFailure("app links") }
            for link in linkList { #expect(schemas.check(link, against: "AssignedAppLink") == []) }

            let userDevices = try await request("\(base)/api/v1/users/\(withApps.id)/devices")
            guard case .array(let userDeviceList) = userDevices.json, !userDeviceList.isEmpty else {
                throw TestFailure("devices")
            }
            for item in userDeviceList { #expect(schemas.check(item, against: "UserDevice") == []) }

            let devices = try await request("\(base)/api/v1/devices?expand=user&limit=20")
            guard case .array(let deviceList) = devices.json else { throw TestFailure("device list") }
            for device in deviceList { #expect(schemas.check(device, against: "DeviceList") == []) }

            let appId = withApps.assignedApps[0].app
            let apps = try await request("\(base)/api/v1/apps")
            guard case .array(let appList) = apps.json else { throw TestFailure("apps") }
            let app = try #require(appList.first { $0["name"]?.stringValue != nil })
            // `name` is defined by the app subtypes (by `signOnMode`), which the subset leaves out.
            #expect(schemas.check(app, against: "Application", alsoAllowed: ["name"]) == [])
            let appId0 = try #require(appList[appId]["id"]?.stringValue)
            let appUsers = try await request("\(base)/api/v1/apps/\(appId0)/users")
            guard case .array(let appUserList) = appUsers.json, !appUserList.isEmpty else {
                throw TestFailure("app users")
            }
            for appUser in appUserList { #expect(schemas.check(appUser, against: "AppUser") == []) }

            let missing = try await request("\(base)/api/v1/users/00uNOPE")
            #expect(schemas.check(missing.json, against: "Error") == [])
            let unauthorized = try await request("\(base)/api/v1/users", token: "bad")
            #expect(schemas.check(unauthorized.json, against: "Error") == [])
        }
    }

    @Test func groupsMatchTheOpenAPISchemasAndTheirProfilesTheirObjectClass() async throws {
        guard let folder = SharedOktaData.require("openapi", test: "groupsMatchTheOpenAPISchemas") else { return }
        let schemas = try OpenAPISchemas(url: folder.appendingPathComponent("okta-management-2026.06.3-subset.yaml"))
        try await withSimulator(users: 20) { simulator in
            let response = try await request("\(simulator.baseURL)/api/v1/groups?expand=stats")
            guard case .array(let groups) = response.json else { throw TestFailure("groups") }
            #expect(Set(groups.compactMap { $0["type"]?.stringValue }) == ["BUILT_IN", "OKTA_GROUP", "APP_GROUP"])
            for group in groups {
                #expect(schemas.check(group, against: "Group") == [])
                // `profile` is one of two schemas (`anyOf`), chosen by `objectClass`; Okta's own example of
                // an Active Directory group has `groupType` and `groupScope`, which the schema lacks.
                let profile =
                    group["objectClass"] == .array(["okta:windows_security_principal"])
                    ? "OktaActiveDirectoryGroupProfile" : "OktaUserGroupProfile"
                let problems = schemas.check(
                    group["profile"] ?? .null, against: profile, alsoAllowed: ["groupType", "groupScope"])
                #expect(problems == [], "\(profile)")
            }
            let user = try #require(simulator.org.user(at: 0))
            let mine = try await request("\(simulator.baseURL)/api/v1/users/\(user.id)/groups")
            guard case .array(let userGroups) = mine.json, !userGroups.isEmpty else { throw TestFailure("groups") }
            for group in userGroups { #expect(schemas.check(group, against: "Group") == []) }
            let missing = try await request("\(simulator.baseURL)/api/v1/groups/00gNOPE")
            #expect(schemas.check(missing.json, against: "Error") == [])
        }
    }

    @Test func generatedUsersUseOnlyKeysRealOktaUsersHave() async throws {
        guard let folder = SharedOktaData.require("recordings", test: "generatedUsersUseOnlyKeysRealOktaUsersHave")
        else {
            return
        }
        // Top-level user keys seen in real recordings.
        var realKeys: Set<String> = []
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) where file.contains("Users") {
            let recording = try JSONCoding.decoder().decode(
                JSONValue.self, from: Data(contentsOf: folder.appendingPathComponent(file)))
            var bodies: [JSONValue] = []
            switch recording["response"]?["body"] {
            case .array(let items)?: bodies = items
            case .object(let object)? where object["id"] != nil: bodies = [.object(object)]
            default: break
            }
            for case .object(let user) in bodies { realKeys.formUnion(user.keys) }
        }
        #expect(realKeys.contains("profile"))
        try await withSimulator(users: 50) { simulator in
            let response = try await request("\(simulator.baseURL)/api/v1/users?limit=50")
            guard case .array(let users) = response.json else { throw TestFailure("users") }
            for case .object(let user) in users {
                #expect(Set(user.keys).isSubset(of: realKeys), "\(Set(user.keys).subtracting(realKeys))")
            }
            // The 429 matches the real recorded one in code and summary.
            let recorded = try JSONCoding.decoder().decode(
                JSONValue.self, from: Data(contentsOf: folder.appendingPathComponent("real-429-rate-limited.json")))
            simulator.faults = FaultPlan(rateLimitStorm: 1)
            let limited = try await request("\(simulator.baseURL)/api/v1/users?limit=1")
            #expect(limited.json["errorCode"] == recorded["response"]?["body"]?["errorCode"])
            #expect(limited.json["errorSummary"] == recorded["response"]?["body"]?["errorSummary"])
        }
    }

    @Test func deliveriesMatchTheDocumentedEnvelopeAndLogEventSchema() async throws {
        guard let folder = SharedOktaData.require("", test: "deliveriesMatchTheDocumentedEnvelopeAndLogEventSchema")
        else {
            return
        }
        let schemas = try OpenAPISchemas(
            url: folder.appendingPathComponent("openapi/okta-management-2026.06.3-subset.yaml"))
        let sample = try JSONCoding.decoder().decode(
            JSONValue.self,
            from: Data(contentsOf: folder.appendingPathComponent("event-hooks/delivery-user.session.start.json")))
        let endpoint = try await HookEndpoint()
        defer { endpoint.stop() }
        try await withSimulator(users: 10, configure: { $0.hookTrustRootsPEM = [endpoint.certificate.certificatePEM] })
        {
            simulator in
            let body = """
                {"name":"conformance","events":{"type":"EVENT_TYPE","items":["user.session.start","user.lifecycle.suspend"]},
                 "channel":{"type":"HTTP","version":"1.0.0","config":{"uri":"\(endpoint.url)",
                 "authScheme":{"type":"HEADER","key":"Authorization","value":"s"}}}}
                """
            let created = try await request("\(simulator.baseURL)/api/v1/eventHooks", method: .POST, body: body)
            #expect(schemas.check(created.json, against: "EventHook") == [])
            let id = try #require(created.json["id"]?.stringValue)
            _ = try await request("\(simulator.baseURL)/api/v1/eventHooks/\(id)/lifecycle/verify", method: .POST)
            try simulator.org.recordLogin(userId: simulator.org.user(at: 0)!.id)
            await simulator.waitForDeliveries()
            let delivery = try #require(endpoint.deliveries.first)
            let envelope = try JSONCoding.decoder().decode(JSONValue.self, from: Data(delivery.body))
            guard case .object(let ours) = envelope, case .object(let documented) = sample else {
                throw TestFailure("envelopes")
            }
            #expect(Set(ours.keys) == Set(documented.keys))
            guard case .array(let events)? = envelope["data"]?["events"] else { throw TestFailure("events") }
            // Real events carry keys the schema lacks (shared/okta README): allow those of the documented sample.
            guard case .array(let sampleEvents)? = sample["data"]?["events"],
                case .object(let sampleEvent)? = sampleEvents.first
            else { throw TestFailure("sample events") }
            let documentedKeys = Set(sampleEvent.keys)
            for event in events {
                #expect(schemas.check(event, against: "LogEvent", alsoAllowed: documentedKeys) == [])
                if case .object(let members) = event { #expect(Set(members.keys).isSubset(of: documentedKeys)) }
            }
        }
    }

    @Test func systemLogEventsMatchTheLogEventSchema() async throws {
        guard let folder = SharedOktaData.require("", test: "systemLogEventsMatchTheLogEventSchema") else { return }
        let schemas = try OpenAPISchemas(
            url: folder.appendingPathComponent("openapi/okta-management-2026.06.3-subset.yaml"))
        let sample = try JSONCoding.decoder().decode(
            JSONValue.self,
            from: Data(contentsOf: folder.appendingPathComponent("event-hooks/delivery-user.session.start.json")))
        guard case .array(let sampleEvents)? = sample["data"]?["events"],
            case .object(let sampleEvent)? = sampleEvents.first
        else { throw TestFailure("sample events") }
        let documentedKeys = Set(sampleEvent.keys)
        try await withSimulator(users: 10) { simulator in
            let user = try #require(simulator.org.user(at: 0))
            try simulator.org.recordLogin(userId: user.id)
            _ = try simulator.org.updateProfile(id: user.id, changes: ["title": "Checked"])
            let since = Timestamp(Date().addingTimeInterval(-60)).iso8601
            let page = try await request("\(simulator.baseURL)/api/v1/logs?since=\(since)")
            guard case .array(let events) = page.json, events.count == 2 else {
                throw TestFailure("log page: \(page.text.prefix(200))")
            }
            for event in events {
                #expect(schemas.check(event, against: "LogEvent", alsoAllowed: documentedKeys) == [])
            }
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = "unexpected shape: \(description)" }
}
