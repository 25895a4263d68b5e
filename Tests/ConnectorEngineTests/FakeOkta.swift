import ConnectorConfiguration
import ConnectorDomain
import ConnectorStore
import ConnectorTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A real local HTTP server answering as Okta would, from a script, for answers the simulator does
/// not give on purpose: a user deleted between two calls, a `404` that is not Okta's, hostile
/// headers.
final class FakeOkta: Sendable {
    /// One scripted answer.
    struct Answer: Sendable {
        var status: Int
        var headers: [String: String] = [:]
        var body: String = ""
    }

    final class State: Sendable {
        /// The users the listing returns: id and status.
        let users = Mutex<[(id: String, status: String)]>([])
        /// Users whose app links and devices answer `404 E0000007` (deleted since the listing).
        let gone = Mutex<Set<String>>([])
        /// Answers given before anything else, to any request, in order.
        let script = Mutex<[Answer]>([])
        let requests = Mutex<[String]>([])
    }

    let state = State()
    let port: Int
    private let task: Task<Void, any Error>

    var url: String { "http://127.0.0.1:\(port)" }
    var requests: [String] { state.requests.withLock { $0 } }

    /// Okta's real `404` for a deleted user (shared/okta recordings, test_create_get_user.5).
    static func deletedUserBody(_ id: String) -> String {
        #"{"errorCode":"E0000007","errorSummary":"Not found: Resource not found: \#(id) (User)","errorLink":"E0000007","errorId":"oaeMzddieo5QvW8lOZVv0uV6w","errorCauses":[]}"#
    }

    static func userJSON(_ id: String, status: String) -> String {
        #"{"id":"\#(id)","status":"\#(status)","created":"2026-01-01T00:00:00.000Z","lastUpdated":"2026-05-01T00:00:00.000Z","profile":{"login":"\#(id)@example.com","email":"\#(id)@example.com","firstName":"F\#(id)","lastName":"L\#(id)"}}"#
    }

    init() async throws {
        let router = Router()
        let state = self.state
        @Sendable func respond(_ answer: Answer) -> Response {
            var fields = HTTPFields()
            fields[.contentType] = "application/json"
            for (name, value) in answer.headers { fields[HTTPField.Name(name)!] = value }
            return Response(
                status: HTTPResponse.Status(code: answer.status), headers: fields,
                body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body)))
        }
        @Sendable func scripted(_ request: Request) -> Answer? {
            state.requests.withLock { $0.append(request.uri.path) }
            return state.script.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        }
        router.get("/api/v1/users") { request, _ -> Response in
            if let answer = scripted(request) { return respond(answer) }
            let users = state.users.withLock { $0 }
            return respond(
                Answer(
                    status: 200,
                    body: "[" + users.map { Self.userJSON($0.id, status: $0.status) }.joined(separator: ",") + "]"))
        }
        router.get("/api/v1/users/:id") { request, context -> Response in
            if let answer = scripted(request) { return respond(answer) }
            let id = context.parameters.get("id") ?? ""
            guard let user = state.users.withLock({ $0.first { $0.id == id } }) else {
                return respond(Answer(status: 404, body: Self.deletedUserBody(id)))
            }
            return respond(Answer(status: 200, body: Self.userJSON(user.id, status: user.status)))
        }
        for link in ["appLinks", "devices"] {
            router.get("/api/v1/users/:id/\(link)") { request, context -> Response in
                if let answer = scripted(request) { return respond(answer) }
                let id = context.parameters.get("id") ?? ""
                if state.gone.withLock({ $0.contains(id) }) {
                    return respond(Answer(status: 404, body: Self.deletedUserBody(id)))
                }
                return respond(Answer(status: 200, body: "[]"))
            }
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "fake-okta")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        task = Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        port = await iterator.next() ?? 0
    }

    deinit { task.cancel() }

    /// Connector settings pointing at this server.
    func settings(statuses: [OktaUserStatus] = [.active], plan: EnrichSettings.Plan = .perUser) throws
        -> ConnectorSettings
    {
        ConnectorSettings(
            name: "Fake org", slug: "fake-org", server: "Cloud", active: true,
            okta: OktaSettings(
                url: URL(string: url)!, credentials: .apiToken(Secret("fake-token")), rateLimitShare: 0.5),
            userStatuses: statuses,
            schedule: try Schedule(repeats: "daily", on: nil, startTime: "02:00", timeZone: "UTC"),
            eventHook: EventHookSettings(
                path: "/hooks/okta/fake-org", authHeader: "Authorization", secrets: [Secret("s")]),
            enrich: EnrichSettings(apps: true, devices: true, plan: plan), mapper: UserMapper(),
            sink: .ndjson(NDJSONSinkSettings(path: "-", batchSize: 500)),
            reconcile: ReconcileSettings(maxRemovalShare: 0.2))
    }
}
