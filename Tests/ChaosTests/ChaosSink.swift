import ConnectorDomain
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A Neurons endpoint run by the test: OAuth token and ingestion, switchable between up, down
/// (`503`) and hostile (`429`/`503` with garbage, negative and enormous `Retry-After` and `Date`).
final class ChaosSink: Sendable {
    enum Mode: Sendable {
        case up, down, hostile
    }

    struct State {
        var mode = Mode.up
        var records: [(key: String, version: Int64, op: String)] = []
        var refused = 0
        var hostileAnswers = 0
        /// Requests still to answer `503` with `Retry-After: 1`, whatever the mode (a short blip).
        var blips = 0
    }

    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    private let shared = Shared()
    let port: Int
    private let task: Task<Void, any Error>

    var url: String { "http://127.0.0.1:\(port)" }
    var records: [(key: String, version: Int64, op: String)] { shared.state.withLock { $0.records } }
    var refused: Int { shared.state.withLock { $0.refused } }
    var hostileAnswers: Int { shared.state.withLock { $0.hostileAnswers } }

    func set(_ mode: Mode) { shared.state.withLock { $0.mode = mode } }

    /// Answers the next `count` ingestion requests `503` with `Retry-After: 1`, then as the mode says.
    func blip(_ count: Int) { shared.state.withLock { $0.blips = count } }

    /// The connector's `sink:` section pointing here.
    var yaml: String {
        "{ type: http, endpoint: \(url)/ingest, token_url: \(url)/token, client_id: chaos, client_secret: chaos-secret, allow_insecure_http: true }"
    }

    static let hostileHeaders: [[(String, String)]] = [
        [("Retry-After", "soon, maybe"), ("Date", "yesterday at noon")],
        [("Retry-After", "-86400"), ("Date", "Mon, 99 Foo 99999 99:99:99 GMT")],
        [("Retry-After", "999999999999999999999999999"), ("Date", "Fri, 31 Dec 9999 23:59:59 GMT")],
        [("Retry-After", "1e308"), ("Date", "Thu, 01 Jan 1970 00:00:00 GMT")],
        [("Retry-After", "nan"), ("Date", "")],
        [("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")],
        [("Retry-After", "9223372036854775807")],
        [("Retry-After", "-9223372036854775808"), ("Date", "Sun, 06 Nov 1994 08:49:37 GMT")],
    ]

    init() async throws {
        let router = Router()
        let state = shared
        router.post("/token") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(string: #"{"access_token":"chaos","expires_in":3600,"token_type":"Bearer"}"#)
                ))
        }
        router.post("/ingest") { request, _ -> Response in
            var copy = request
            let body = String(buffer: try await copy.collectBody(upTo: 1 << 24))
            let (mode, blip) = state.state.withLock { state -> (Mode, Bool) in
                guard state.blips > 0 else { return (state.mode, false) }
                state.blips -= 1
                state.refused += 1
                return (state.mode, true)
            }
            if blip { return Response(status: .serviceUnavailable, headers: [.retryAfter: "1"]) }
            switch mode {
            case .down:
                state.state.withLock { $0.refused += 1 }
                return Response(status: .serviceUnavailable)
            case .hostile:
                let index = state.state.withLock { state -> Int in
                    state.hostileAnswers += 1
                    return state.hostileAnswers
                }
                var fields = HTTPFields()
                for (name, value) in Self.hostileHeaders[index % Self.hostileHeaders.count] {
                    fields[HTTPField.Name(name)!] = value
                }
                return Response(
                    status: index.isMultiple(of: 2) ? .tooManyRequests : .serviceUnavailable, headers: fields)
            case .up:
                guard let json = try? JSONCoding.decode(JSONValue.self, from: body),
                    case .array(let records)? = json["records"]
                else { return Response(status: .badRequest) }
                let parsed = records.compactMap { record -> (key: String, version: Int64, op: String)? in
                    guard let key = record["key"]?.stringValue, case .integer(let version)? = record["version"],
                        let op = record["op"]?.stringValue
                    else { return nil }
                    return (key, version, op)
                }
                state.state.withLock { $0.records += parsed }
                return Response(status: .ok)
            }
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "chaos-sink")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        task = Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        port = await iterator.next() ?? 0
    }

    deinit { task.cancel() }
}
