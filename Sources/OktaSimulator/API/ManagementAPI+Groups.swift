import ConnectorDomain
import HTTPTypes
import Hummingbird

/// The Groups API: the org's groups, a group, its members, and a user's groups.
extension ManagementAPI {
    func registerGroups(on router: Router<SimulatorRequestContext>) {
        router.get("/api/v1/groups") { request, _ in listGroups(request) }
        router.get("/api/v1/groups/:groupId") { _, context in
            let id = context.parameters.get("groupId") ?? ""
            guard let group = org.group(id: id) else { return JSONResponse.notFound(id, kind: "UserGroup") }
            var writer = JSONWriter()
            representations.group(group, into: &writer)
            return JSONResponse.make(writer.bytes)
        }
        router.get("/api/v1/groups/:groupId/users") { request, context in
            listGroupUsers(request, groupId: context.parameters.get("groupId") ?? "")
        }
        // Not paged: every group of the user, `Everyone` included (Users API, `listUserGroups`).
        router.get("/api/v1/users/:id/groups") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let groups = org.groups(ofUser: id) else { return JSONResponse.notFound(id, kind: "User") }
            var writer = JSONWriter(capacity: 1024 * groups.count)
            writer.beginArray()
            for group in groups { representations.group(group, into: &writer) }
            writer.endArray()
            return JSONResponse.make(writer.bytes)
        }
    }

    /// `GET /api/v1/groups`: `limit` ≤ 10000 with `after` and `Link`; `q` (a name prefix, at most 300
    /// groups, not paged); `filter` or `search`; `expand=stats`.
    func listGroups(_ request: Request) -> Response {
        let query = QueryItems(request.uri.query)
        var groups = org.groups()
        var base: [(String, String)] = []
        for name in ["filter", "search"] {
            guard let expression = query[name], !expression.isEmpty else { continue }
            do {
                let filter = try GroupFilter.parse(expression, search: name == "search")
                groups = groups.filter { filter.matches($0) }
            } catch {
                return JSONResponse.oktaError(
                    .badRequest, code: "E0000031", summary: "Invalid search criteria.", causes: [error.reason])
            }
            base.append((name, expression))
        }
        let expandStats = query["expand"] == "stats"
        if expandStats { base.append(("expand", "stats")) }
        let limit: Int
        var next: [(String, String)]?
        var selfQuery: [(String, String)]
        if let prefix = query["q"], !prefix.isEmpty {
            // A query is for auto-complete pickers: at most 300 results and no paging (Groups API, `q`).
            limit = self.limit(query, default: 300, maximum: 300)
            groups = Array(groups.filter { $0.name.lowercased().hasPrefix(prefix.lowercased()) }.prefix(limit))
            selfQuery = [("q", prefix), ("limit", String(limit))] + base
        } else {
            limit = self.limit(query, default: 10_000, maximum: 10_000)
            guard let cursor = cursor(query, ids.groupIndex) else { return Self.badCursor }
            if let after = cursor {
                groups = groups.filter { SimulatedOrg.listingOrder($0.index) > SimulatedOrg.listingOrder(after) }
            }
            let more = groups.count > limit
            groups = Array(groups.prefix(limit))
            selfQuery = [("limit", String(limit))] + base
            if let after = query["after"] { selfQuery.insert(("after", after), at: 0) }
            if more, let last = groups.last { next = [("after", last.id), ("limit", String(limit))] + base }
        }
        let counts = expandStats ? org.memberCounts() : [:]
        var writer = JSONWriter(capacity: 1024 * max(1, groups.count))
        writer.beginArray()
        for group in groups {
            representations.group(group, into: &writer, usersCount: expandStats ? counts[group.index] ?? 0 : nil)
        }
        writer.endArray()
        return JSONResponse.make(writer.bytes, headers: links(path: "/api/v1/groups", query: selfQuery, next: next))
    }

    /// `GET /api/v1/groups/{id}/users`: members of every status as full users, `limit` ≤ 1000. Like
    /// Okta, a page may hold fewer users than asked while more remain: only the absence of a `next`
    /// link ends the listing.
    func listGroupUsers(_ request: Request, groupId: String) -> Response {
        guard let groupIndex = ids.groupIndex(groupId) else { return JSONResponse.notFound(groupId, kind: "UserGroup") }
        let query = QueryItems(request.uri.query)
        let limit = limit(query, default: 1000, maximum: 1000)
        guard let cursor = cursor(query, ids.userIndex) else { return Self.badCursor }
        let start = cursor.map { $0 + 1 } ?? 0
        guard let page = org.members(ofGroup: groupIndex, from: start, limit: limit) else {
            return JSONResponse.notFound(groupId, kind: "UserGroup")
        }
        let members = page.users.prefix(page.users.count - shortfall(of: page.users.count, start: start, groupIndex))
        var writer = JSONWriter(capacity: 2048 * max(1, members.count))
        writer.beginArray()
        let credentials = includeCredentials(request)
        let representations = self.representations
        for user in members { representations.user(user, into: &writer, includeCredentials: credentials) }
        writer.endArray()
        var selfQuery = [("limit", String(limit))]
        if let after = query["after"] { selfQuery.insert(("after", after), at: 0) }
        var next: [(String, String)]?
        if members.count < page.users.count || (page.next != nil && page.users.count == limit),
            let last = members.last
        {
            next = [("after", last.id), ("limit", String(limit))]
        }
        return JSONResponse.make(
            writer.bytes, headers: links(path: "/api/v1/groups/\(groupId)/users", query: selfQuery, next: next))
    }

    /// How many of the users found for a page of a group's members are held back for the next page:
    /// none for about half of the pages, up to a tenth for the others, never all; the same for the
    /// same page every time.
    func shortfall(of found: Int, start: Int, _ groupIndex: Int) -> Int {
        guard found > 1 else { return 0 }
        var random = SplitMix64(seed: org.blueprint.seed, stream: 6, index: start &* 31 &+ groupIndex)
        guard random.chance(0.5) else { return 0 }
        return min(found - 1, 1 + random.below(max(1, found / 10)))
    }
}
