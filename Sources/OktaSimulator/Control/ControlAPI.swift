import ConnectorDomain
import Foundation
import Hummingbird

/// The simulator's control API, under `/sim/v1` and apart from Okta's paths: change the org,
/// inject faults, make event hook delivery misbehave, churn, read statistics. It has no
/// authentication: bind the simulator to loopback.
struct ControlAPI: Sendable {
    /// The most sign-ins one request may ask for.
    static let maximumSignIns = 100_000_000

    let org: SimulatedOrg
    let base: SimulatorBaseURL
    let faults: FaultInjector
    let deliverer: HookDeliverer
    let churn: ChurnDriver
    let counters: RequestCounters

    func register(on router: Router<SimulatorRequestContext>) {
        let sim = router.group("/sim/v1")
        sim.post("/users") { request, _ in
            struct Body: Decodable {
                let profile: [String: JSONValue]
                let activate: Bool?
            }
            guard let body: Body = await decode(request) else {
                return JSONResponse.invalid("expected {profile, activate}")
            }
            return mutation { () throws(SimulatedOrg.MutationError) in
                try user(org.createUser(profile: body.profile, activate: body.activate ?? true), status: .created)
            }
        }
        sim.post("/users/:id/profile") { request, context in
            guard let changes: [String: JSONValue] = await decode(request) else {
                return JSONResponse.invalid("expected an object of profile changes")
            }
            let id = context.parameters.get("id") ?? ""
            return mutation { () throws(SimulatedOrg.MutationError) in
                try user(org.updateProfile(id: id, changes: changes))
            }
        }
        sim.post("/users/:id/lifecycle/:action") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let action = SimulatedOrg.LifecycleAction(rawValue: context.parameters.get("action") ?? "") else {
                return JSONResponse.invalid(
                    "action: one of \(SimulatedOrg.LifecycleAction.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return mutation { () throws(SimulatedOrg.MutationError) in
                if let changed = try org.apply(action, to: id) { return user(changed) }
                return Response(status: .noContent)
            }
        }
        sim.put("/users/:id/apps/:app") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let app = appIndex(context.parameters.get("app")) else {
                return JSONResponse.notFound("app", kind: "AppInstance")
            }
            return mutation { () throws(SimulatedOrg.MutationError) in
                try org.assignApp(userId: id, appIndex: app)
                return Response(status: .noContent)
            }
        }
        sim.delete("/users/:id/apps/:app") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let app = appIndex(context.parameters.get("app")) else {
                return JSONResponse.notFound("app", kind: "AppInstance")
            }
            return mutation { () throws(SimulatedOrg.MutationError) in
                try org.unassignApp(userId: id, appIndex: app)
                return Response(status: .noContent)
            }
        }
        sim.put("/users/:id/groups/:group") { _, context in
            let id = context.parameters.get("id") ?? ""
            let group = groupIndex(context.parameters.get("group"))
            return mutation { () throws(SimulatedOrg.MutationError) in
                try org.addToGroup(userId: id, groupIndex: group ?? -1)
                return Response(status: .noContent)
            }
        }
        sim.delete("/users/:id/groups/:group") { _, context in
            let id = context.parameters.get("id") ?? ""
            let group = groupIndex(context.parameters.get("group"))
            return mutation { () throws(SimulatedOrg.MutationError) in
                try org.removeFromGroup(userId: id, groupIndex: group ?? -1)
                return Response(status: .noContent)
            }
        }
        sim.post("/groups") { request, _ in
            struct Body: Decodable {
                let name: String
                let description: String?
                let type: SimGroup.GroupType?
            }
            guard let body: Body = await decode(request) else {
                return JSONResponse.invalid("expected {name, description, type: OKTA_GROUP | APP_GROUP}")
            }
            return mutation(kind: "UserGroup") { () throws(SimulatedOrg.MutationError) in
                let group = try org.createGroup(
                    name: body.name, description: body.description, type: body.type ?? .oktaGroup)
                var writer = JSONWriter()
                OktaRepresentations(baseURL: base.value, ids: org.blueprint.ids).group(group, into: &writer)
                return JSONResponse.make(writer.bytes, status: .created)
            }
        }
        sim.delete("/groups/:group") { _, context in
            let id = context.parameters.get("group") ?? ""
            let group = groupIndex(id).map { org.blueprint.ids.group($0) } ?? id
            return mutation(kind: "UserGroup") { () throws(SimulatedOrg.MutationError) in
                try org.deleteGroup(id: group)
                return Response(status: .noContent)
            }
        }
        sim.post("/users/:id/devices") { request, context in
            struct Body: Decodable {
                let platform: String
                let displayName: String
                let osVersion: String?
                let model: String?
                let manufacturer: String?
                let serialNumber: String?
            }
            guard let body: Body = await decode(request) else {
                return JSONResponse.invalid(
                    "expected {platform, displayName, osVersion, model, manufacturer, serialNumber}")
            }
            let id = context.parameters.get("id") ?? ""
            return mutation { () throws(SimulatedOrg.MutationError) in
                let device = try org.addDevice(
                    userId: id, platform: body.platform, displayName: body.displayName, osVersion: body.osVersion,
                    model: body.model, manufacturer: body.manufacturer, serialNumber: body.serialNumber)
                return JSONResponse.encode(["id": org.blueprint.ids.device(device.index)], status: .created)
            }
        }
        sim.delete("/users/:id/devices/:device") { _, context in
            let id = context.parameters.get("id") ?? ""
            let device = context.parameters.get("device") ?? ""
            return mutation { () throws(SimulatedOrg.MutationError) in
                try org.removeDevice(userId: id, deviceId: device)
                return Response(status: .noContent)
            }
        }
        sim.post("/users/:id/logins") { _, context in
            let id = context.parameters.get("id") ?? ""
            return mutation { () throws(SimulatedOrg.MutationError) in
                try org.recordLogin(userId: id)
                return Response(status: .noContent)
            }
        }
        // A burst of sign-ins across the org (a compressed day): answered once every event is emitted.
        sim.post("/sign-ins") { request, _ in
            struct Body: Decodable {
                let count: Int
            }
            guard let body: Body = await decode(request), (0...Self.maximumSignIns).contains(body.count) else {
                return JSONResponse.invalid("expected {count}, from 0 to \(Self.maximumSignIns)")
            }
            let emitted = await BulkSignIns(org: org, deliverer: deliverer).run(body.count)
            return JSONResponse.encode(["emitted": emitted])
        }
        sim.get("/faults") { _, _ in JSONResponse.encode(faults.current) }
        sim.put("/faults") { request, _ in
            guard let plan: FaultPlan = await decode(request) else {
                return JSONResponse.invalid("expected a fault plan")
            }
            faults.set(plan)
            return JSONResponse.encode(plan)
        }
        // Token revocation (SPEC §13): every Management API call answers 401 E0000011 until restored.
        sim.put("/faults/token-revocation") { _, _ in
            faults.setTokenRevoked(true)
            return JSONResponse.encode(faults.current)
        }
        sim.delete("/faults/token-revocation") { _, _ in
            faults.setTokenRevoked(false)
            return JSONResponse.encode(faults.current)
        }
        // Management API calls answered (total, by status, by endpoint), so tests count a client's calls.
        sim.get("/calls") { _, _ in JSONResponse.encode(counters.calls) }
        sim.delete("/calls") { _, _ in
            counters.reset()
            return Response(status: .noContent)
        }
        sim.get("/hooks/behaviour") { _, _ in JSONResponse.encode(deliverer.behaviour) }
        sim.put("/hooks/behaviour") { request, _ in
            guard let behaviour: HookBehaviour = await decode(request) else {
                return JSONResponse.invalid("expected a hook behaviour")
            }
            deliverer.behaviour = behaviour
            return JSONResponse.encode(behaviour)
        }
        sim.get("/hooks/stats") { _, _ in JSONResponse.encode(deliverer.stats) }
        // The org's daily cap of event hook events (Okta's: 400,000 in 24 hours, every hook together).
        sim.get("/hooks/daily-cap") { _, _ in JSONResponse.encode(["cap": deliverer.cap]) }
        sim.put("/hooks/daily-cap") { request, _ in
            struct Body: Decodable {
                let cap: Int
            }
            guard let body: Body = await decode(request), body.cap >= 0 else {
                return JSONResponse.invalid("expected {cap}: events a 24-hour window may deliver, 0 or more")
            }
            deliverer.cap = body.cap
            return JSONResponse.encode(["cap": deliverer.cap])
        }
        sim.post("/churn") { request, _ in
            struct Body: Decodable {
                let perSecond: Double
                let seconds: Double?
            }
            guard let body: Body = await decode(request), body.perSecond > 0 else {
                return JSONResponse.invalid("expected {perSecond, seconds}")
            }
            churn.start(perSecond: body.perSecond, duration: body.seconds)
            return Response(status: .accepted)
        }
        sim.delete("/churn") { _, _ in
            churn.stop()
            return Response(status: .noContent)
        }
        sim.get("/summary") { _, _ in JSONResponse.encode(org.summary()) }
        sim.get("/stats") { _, _ in
            struct Stats: Encodable {
                let userIndices: Int
                let churnMutations: Int
                let requests: [String: Int]
            }
            return JSONResponse.encode(
                Stats(
                    userIndices: org.userIndexCount, churnMutations: churn.mutationsApplied,
                    requests: counters.snapshot))
        }
    }

    func decode<T: Decodable>(_ request: Request) async -> T? {
        guard let bytes = try? await request.bodyBytes() else { return nil }
        return try? JSONDecoder().decode(T.self, from: Data(bytes))
    }

    func appIndex(_ text: String?) -> Int? {
        guard let text else { return nil }
        return org.blueprint.ids.appIndex(text) ?? Int(text)
    }

    func groupIndex(_ text: String?) -> Int? {
        guard let text else { return nil }
        return org.blueprint.ids.groupIndex(text) ?? Int(text)
    }

    func user(_ user: SimUser, status: HTTPResponse.Status = .ok) -> Response {
        var writer = JSONWriter()
        OktaRepresentations(baseURL: base.value, ids: org.blueprint.ids).user(
            user, into: &writer, includeCredentials: false)
        return JSONResponse.make(writer.bytes, status: status)
    }

    /// Runs a change and answers its error as Okta would.
    /// - Parameters:
    ///   - kind: What a `404` names as missing.
    ///   - body: The change.
    func mutation(kind: String = "User", _ body: () throws(SimulatedOrg.MutationError) -> Response) -> Response {
        do {
            return try body()
        } catch {
            switch error {
            case .notFound(let what): return JSONResponse.notFound(what, kind: kind)
            case .invalid(let reason): return JSONResponse.invalid(reason)
            }
        }
    }
}
