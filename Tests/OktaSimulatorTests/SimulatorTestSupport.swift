import AsyncHTTPClient
import ConnectorDomain
import ConnectorTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import OktaSimulator
import Synchronization
import Testing

/// One HTTP client for the tests, trusting the certificates the tests make.
let testClient: HTTPClient = {
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.certificateVerification = .none
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
}()

struct TestResponse {
    let status: Int
    let headers: HTTPHeaders
    let body: [UInt8]

    var json: JSONValue { (try? JSONCoding.decoder().decode(JSONValue.self, from: Data(body))) ?? .null }
    var text: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? { headers.first(name: name) }

    /// The `next` link's URL, from two header lines or one joined value.
    var nextLink: String? {
        for value in headers[canonicalForm: "link"] where value.contains("rel=\"next\"") {
            if let start = value.firstIndex(of: "<"), let end = value.firstIndex(of: ">") {
                return String(value[value.index(after: start)..<end])
            }
        }
        return nil
    }
}

func request(
    _ url: String, method: HTTPMethod = .GET, token: String? = "sim-api-token", authorization: String? = nil,
    body: String? = nil, headers: [(String, String)] = []
) async throws -> TestResponse {
    var request = HTTPClientRequest(url: url)
    request.method = method
    if let authorization {
        request.headers.add(name: "Authorization", value: authorization)
    } else if let token {
        request.headers.add(name: "Authorization", value: "SSWS \(token)")
    }
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body {
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
    }
    let response = try await testClient.execute(request, timeout: .seconds(30))
    let collected = try await response.body.collect(upTo: 64 << 20)
    return TestResponse(
        status: Int(response.status.code), headers: response.headers, body: Array(collected.readableBytesView))
}

/// Starts a simulator for one test and stops it afterwards.
func withSimulator<T>(
    users: Int = 300, configure: (inout SimulatorOptions) -> Void = { _ in },
    _ body: (OktaSimulator) async throws -> T
) async throws -> T {
    var options = SimulatorOptions()
    options.users = users
    options.rateLimits = nil
    options.logger.logLevel = .critical
    configure(&options)
    let simulator = try await OktaSimulator.start(options)
    do {
        let result = try await body(simulator)
        await simulator.stop()
        return result
    } catch {
        await simulator.stop()
        throw error
    }
}

/// Creates, activates and verifies a hook pointing at the endpoint; returns its id.
func registerHook(
    _ simulator: OktaSimulator, endpoint: HookEndpoint, types: [String] = OktaLogEvent.subscribedEventTypes
) async throws -> String {
    let body = """
        {"name":"okta-connector test","events":{"type":"EVENT_TYPE","items":\(try JSONCoding.string(types))},
         "channel":{"type":"HTTP","version":"1.0.0","config":{"uri":"\(endpoint.url)",
           "headers":[{"key":"X-Custom","value":"custom-value"}],
           "authScheme":{"type":"HEADER","key":"Authorization","value":"hook-secret"}}}}
        """
    let created = try await request("\(simulator.baseURL)/api/v1/eventHooks", method: .POST, body: body)
    #expect(created.status == 200, "\(created.text)")
    #expect(created.json["verificationStatus"] == "UNVERIFIED")
    #expect(created.json["status"] == "ACTIVE")
    #expect(created.json["channel"]?["config"]?["authScheme"]?["value"] == nil, "the secret is never returned")
    let id = try #require(created.json["id"]?.stringValue)
    let verified = try await request(
        "\(simulator.baseURL)/api/v1/eventHooks/\(id)/lifecycle/verify", method: .POST)
    #expect(verified.status == 200, "\(verified.text)")
    #expect(verified.json["verificationStatus"] == "VERIFIED")
    return id
}

/// Follows `next` links from a first URL and returns every item and the number of pages.
func listAll(_ firstURL: String) async throws -> (items: [JSONValue], pages: Int) {
    var items: [JSONValue] = []
    var url: String? = firstURL
    var pages = 0
    while let current = url {
        let response = try await request(current)
        #expect(response.status == 200, "\(current): \(response.text)")
        guard case .array(let page) = response.json else { break }
        items += page
        pages += 1
        url = response.nextLink
        if pages > 10_000 { break }
    }
    return (items, pages)
}

/// A real HTTPS endpoint standing in for the connector's event hook receiver, recording what it gets.
final class HookEndpoint: Sendable {
    struct Received: Sendable {
        let method: String
        let headers: [String: String]
        let body: [UInt8]
    }

    final class State: Sendable {
        let received = Mutex<[Received]>([])
        /// Statuses to answer deliveries with, in order; then 200.
        let script = Mutex<[Int]>([])
    }

    let certificate: SelfSignedCertificate
    private let state = State()
    private let task: Task<Void, any Error>
    let port: Int

    /// Sets the statuses to answer the next deliveries with, in order; then 200.
    func answer(_ statuses: [Int]) { state.script.withLock { $0 = statuses } }
    var url: String { "https://localhost:\(port)/hooks/okta" }
    var requests: [Received] { state.received.withLock { $0 } }
    var deliveries: [Received] { requests.filter { $0.method == "POST" } }

    init() async throws {
        certificate = try SelfSignedCertificate()
        let router = Router()
        let state = self.state
        router.get("/hooks/okta") { request, _ -> Response in
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            state.received.withLock { $0.append(Received(method: "GET", headers: headers, body: [])) }
            let challenge = request.headers[HTTPField.Name("x-okta-verification-challenge")!] ?? ""
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "{\"verification\":\"\(challenge)\"}")))
        }
        router.post("/hooks/okta") { request, _ -> Response in
            var copy = request
            let body = try await copy.collectBody(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            state.received.withLock {
                $0.append(Received(method: "POST", headers: headers, body: Array(body.readableBytesView)))
            }
            let status = state.script.withLock { $0.isEmpty ? 200 : $0.removeFirst() }
            return Response(status: HTTPResponse.Status(code: status))
        }
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificate.certificatePEM.utf8)).map {
                .certificate($0)
            },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(certificate.privateKeyPEM.utf8), format: .pem)))
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, server: try .tls(.http1(), tlsConfiguration: tls),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
            logger: {
                var logger = Logger(label: "hook-endpoint"); logger.logLevel = .critical; return logger
            }())
        task = Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        port = await iterator.next() ?? 0
    }

    func stop() { task.cancel() }

    /// Every event uuid delivered, in delivery order.
    var deliveredEvents: [JSONValue] {
        deliveries.flatMap { delivery -> [JSONValue] in
            let envelope = (try? JSONCoding.decoder().decode(JSONValue.self, from: Data(delivery.body))) ?? .null
            if case .array(let events)? = envelope["data"]?["events"] { return events }
            return []
        }
    }
}
