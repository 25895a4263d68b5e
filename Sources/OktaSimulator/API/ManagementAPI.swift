import ConnectorDomain
import Foundation
import HTTPTypes
import Hummingbird

/// The Management API endpoints the connector uses: users, their app links, groups and devices,
/// apps and their users, groups and their members, devices with their users, with Okta's `Link`
/// pagination.
struct ManagementAPI: Sendable {
    let org: SimulatedOrg
    let base: SimulatorBaseURL
    let faults: FaultInjector
    /// A Classic Engine org: the Devices API exists only on Identity Engine.
    let classic: Bool

    /// Okta's shapes with links to this simulator.
    var representations: OktaRepresentations { OktaRepresentations(baseURL: base.value, ids: org.blueprint.ids) }

    var ids: OktaIdentifiers { org.blueprint.ids }

    func register(on router: Router<SimulatorRequestContext>) {
        router.get("/api/v1/users") { request, _ in listUsers(request) }
        router.get("/api/v1/users/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            guard let user = org.user(idOrLogin: id) else { return JSONResponse.notFound(id, kind: "User") }
            var writer = JSONWriter()
            representations.user(user, into: &writer, includeCredentials: includeCredentials(request))
            return JSONResponse.make(writer.bytes)
        }
        router.get("/api/v1/users/:id/appLinks") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let user = org.user(idOrLogin: id) else { return JSONResponse.notFound(id, kind: "User") }
            var writer = JSONWriter()
            writer.beginArray()
            for (app, _) in user.assignedApps { representations.appLink(app: app, user: user, into: &writer) }
            writer.endArray()
            return JSONResponse.make(writer.bytes)
        }
        router.get("/api/v1/users/:id/devices") { _, context in
            if classic { return Self.notOnClassic }
            let id = context.parameters.get("id") ?? ""
            guard let user = org.user(idOrLogin: id) else { return JSONResponse.notFound(id, kind: "User") }
            var writer = JSONWriter()
            writer.beginArray()
            for device in user.devices { representations.userDevice(device, into: &writer) }
            writer.endArray()
            return JSONResponse.make(writer.bytes)
        }
        router.get("/api/v1/apps") { request, _ in listApps(request) }
        router.get("/api/v1/apps/:appId/users") { request, context in
            listAppUsers(request, appId: context.parameters.get("appId") ?? "")
        }
        router.get("/api/v1/devices") { request, _ in classic ? Self.notOnClassic : listDevices(request) }
        registerGroups(on: router)
    }

    /// What a Classic Engine org answers for the Devices API, which only Identity Engine has.
    static var notOnClassic: Response {
        JSONResponse.oktaError(
            .notFound, code: "E0000022", summary: "The endpoint does not support the provided HTTP method",
            causes: ["The Devices API is available only in Okta Identity Engine orgs"])
    }

    func includeCredentials(_ request: Request) -> Bool {
        // Okta omits credentials when asked: `Content-Type: application/json; okta-response=omitCredentials`.
        !(request.headers[.contentType] ?? "").contains("omitCredentials")
    }

    /// `Link` headers as Okta sends them: `self` and `next` on two header lines.
    func links(path: String, query: [(String, String)], next: [(String, String)]?) -> HTTPFields {
        func url(_ items: [(String, String)]) -> String {
            let encoded = items.map { "\($0.0)=\(URLFormEncoding.encode($0.1))" }.joined(separator: "&")
            return representations.baseURL + path + (encoded.isEmpty ? "" : "?" + encoded)
        }
        var fields = HTTPFields()
        fields.append(HTTPField(name: .link, value: "<\(url(query))>; rel=\"self\""))
        if let next { fields.append(HTTPField(name: .link, value: "<\(url(next))>; rel=\"next\"")) }
        return fields
    }

    /// The index an opaque `after` cursor stands for: `.some(nil)` without a cursor, `nil` for one
    /// that is not of this listing.
    func cursor(_ query: QueryItems, _ decode: (String) -> Int?) -> Int?? {
        guard let after = query["after"], !after.isEmpty else { return .some(nil) }
        guard let index = decode(after) else { return nil }
        return .some(index)
    }

    static var badCursor: Response { JSONResponse.invalid("after: not a cursor of this listing") }

    func limit(_ query: QueryItems, default defaultLimit: Int, maximum: Int) -> Int {
        guard let text = query["limit"], let value = Int(text), value > 0 else { return defaultLimit }
        return min(value, maximum)
    }

    func listUsers(_ request: Request) -> Response {
        let query = QueryItems(request.uri.query)
        let limit = limit(query, default: 200, maximum: 200)
        guard let cursor = cursor(query, ids.userIndex) else { return Self.badCursor }
        let start = cursor.map { $0 + 1 } ?? 0
        let expression = query["filter"] ?? query["search"]
        var filter: UserFilter?
        if let expression, !expression.isEmpty {
            do {
                filter = try UserFilter.parse(expression)
            } catch {
                return JSONResponse.oktaError(
                    .badRequest, code: "E0000031", summary: "Invalid search criteria.", causes: [error.reason])
            }
        }
        // Without filter or search, Okta leaves out DEPROVISIONED users (Users API reference).
        let statusTest: (OktaUserStatus) -> Bool
        var userTest: ((SimUser) -> Bool)?
        if let filter {
            statusTest = filter.isStatusOnly ? { filter.matches(status: $0) } : { _ in true }
            if !filter.isStatusOnly { userTest = { filter.matches($0) } }
        } else {
            statusTest = { $0 != .deprovisioned }
        }
        let page = org.users(from: start, limit: limit, status: statusTest, where: userTest)
        if faults.takeMalformedPage() {
            return JSONResponse.make(Array(#"[{"id":"00u1","status":"ACTIVE","profile":{"#.utf8))
        }
        var writer = JSONWriter(capacity: 2048 * max(1, page.users.count))
        writer.beginArray()
        let credentials = includeCredentials(request)
        let representations = self.representations
        for user in page.users { representations.user(user, into: &writer, includeCredentials: credentials) }
        writer.endArray()

        var base: [(String, String)] = []
        if let filterText = query["filter"] { base.append(("filter", filterText)) }
        if let search = query["search"] { base.append(("search", search)) }
        var selfQuery = [("limit", String(limit))] + base
        if let after = query["after"] { selfQuery.insert(("after", after), at: 0) }
        var next: [(String, String)]?
        if page.next != nil, page.users.count == limit, let last = page.users.last {
            var cursor = last.id
            if let from = faults.current.repeatNextCursorFromPage, let after = query["after"], pageNumber(after) >= from
            {
                cursor = after
            }
            next = [("after", cursor), ("limit", String(limit))] + base
        }
        return JSONResponse.make(writer.bytes, headers: links(path: "/api/v1/users", query: selfQuery, next: next))
    }

    /// The 1-based page number a cursor stands for (for the repeated-cursor fault): pages counted
    /// as users-before-the-cursor / 200, good enough to aim the fault.
    func pageNumber(_ after: String) -> Int {
        guard let index = ids.userIndex(after) else { return 0 }
        return index / 200 + 2
    }

    func listApps(_ request: Request) -> Response {
        let query = QueryItems(request.uri.query)
        let limit = limit(query, default: 200, maximum: 200)
        guard let cursor = cursor(query, ids.appIndex) else { return Self.badCursor }
        let start = cursor.map { $0 + 1 } ?? 0
        let end = min(NameCatalogue.apps.count, start + limit)
        var writer = JSONWriter()
        writer.beginArray()
        if start < end {
            for app in start..<end { representations.application(app, created: org.blueprint.epoch, into: &writer) }
        }
        writer.endArray()
        let next: [(String, String)]? =
            end < NameCatalogue.apps.count ? [("after", ids.app(end - 1)), ("limit", String(limit))] : nil
        return JSONResponse.make(
            writer.bytes, headers: links(path: "/api/v1/apps", query: [("limit", String(limit))], next: next))
    }

    func listAppUsers(_ request: Request, appId: String) -> Response {
        guard let app = ids.appIndex(appId), NameCatalogue.apps.indices.contains(app) else {
            return JSONResponse.notFound(appId, kind: "AppInstance")
        }
        let query = QueryItems(request.uri.query)
        let limit = limit(query, default: 50, maximum: 500)
        guard let cursor = cursor(query, ids.userIndex) else { return Self.badCursor }
        let start = cursor.map { $0 + 1 } ?? 0
        let groupsWithApp = Set(NameCatalogue.groups.indices.filter { NameCatalogue.groups[$0].apps.contains(app) })
        let page = org.users(from: start, limit: limit) { groups, directApps, _ in
            directApps.contains(app) || groups.contains { groupsWithApp.contains($0) }
        }
        var writer = JSONWriter(capacity: 600 * max(1, page.users.count))
        writer.beginArray()
        for user in page.users {
            let scope = user.assignedApps.first { $0.app == app }?.scope ?? "USER"
            representations.appUser(user, app: app, scope: scope, into: &writer)
        }
        writer.endArray()
        let path = "/api/v1/apps/\(appId)/users"
        var next: [(String, String)]?
        if page.next != nil, page.users.count == limit, let last = page.users.last {
            next = [("after", last.id), ("limit", String(limit))]
        }
        return JSONResponse.make(
            writer.bytes, headers: links(path: path, query: [("limit", String(limit))], next: next))
    }

    func listDevices(_ request: Request) -> Response {
        let query = QueryItems(request.uri.query)
        let limit = limit(query, default: 200, maximum: 200)
        let expandUser = query["expand"] == "user"
        var startUser = 0
        var startSlot = 0
        guard let after = cursor(query, ids.deviceIndex) else { return Self.badCursor }
        if let index = after {
            startUser = index / SimDevice.slotsPerUser
            startSlot = index % SimDevice.slotsPerUser + 1
        }
        var found: [(SimDevice, SimUser)] = []
        var cursor: Int? = startUser
        var exhausted = false
        while found.count < limit, let from = cursor {
            let page = org.users(from: from, limit: 256) { _, _, deviceCount in deviceCount > 0 }
            for user in page.users {
                for device in user.devices.sorted(by: { $0.index < $1.index }) {
                    if user.index == startUser, device.index % SimDevice.slotsPerUser < startSlot { continue }
                    if found.count < limit { found.append((device, user)) }
                }
                if found.count >= limit { break }
            }
            cursor = page.next
            if cursor == nil { exhausted = true }
        }
        var writer = JSONWriter(capacity: 3000 * max(1, found.count))
        writer.beginArray()
        let credentials = includeCredentials(request)
        for (device, user) in found {
            representations.device(
                device, owner: expandUser ? user : nil, into: &writer, includeCredentials: credentials)
        }
        writer.endArray()
        var base = [("limit", String(limit))]
        if expandUser { base.append(("expand", "user")) }
        var next: [(String, String)]?
        if !(exhausted && found.count < limit), found.count == limit, let last = found.last {
            next = [("after", ids.device(last.0.index))] + base
        }
        return JSONResponse.make(writer.bytes, headers: links(path: "/api/v1/devices", query: base, next: next))
    }
}
