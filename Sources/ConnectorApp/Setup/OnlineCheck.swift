public import AsyncHTTPClient
public import ConnectorConfiguration
public import ConnectorDomain
import ConnectorEngine
public import Foundation
public import Logging
import NeuronsSinks
import OktaClient

/// `check-config --online`: one cheap call per Okta permission the connector needs, and the sink.
public enum OnlineCheck {
    /// One checked item.
    public struct Result: Sendable {
        public var item: String
        public var problem: String?
    }

    /// Checks a connector's Okta credentials and scopes, and its sink.
    public static func check(
        _ connector: ConnectorSettings, httpClient: HTTPClient, clock: any WallClock, logger: Logger,
        callTimeout: TimeInterval = 10
    ) async -> [Result] {
        let client = ConnectorAssembly.oktaClient(
            for: connector, httpClient: httpClient, clock: clock, logger: logger,
            // One attempt with a short deadline: an unreachable org is reported in seconds, not after
            // a retry chain.
            retry: RetryPolicy(maximumAttempts: 1, initialDelay: 0.5, maximumDelay: 1, maximumRateLimitWaits: 1),
            pause: .never, callTimeout: callTimeout)
        let okta = OktaProbes(connector: connector, client: client, callTimeout: callTimeout)
        var results = [await okta.users()]
        if connector.enrich.apps { results.append(await okta.apps()) }
        if connector.enrich.groups { results.append(await okta.groups()) }
        if !connector.scopeGroups.isEmpty { results.append(await okta.userScope()) }
        if connector.enrich.devices { results.append(await okta.devices()) }
        if connector.eventSource.polls { results.append(await okta.systemLog()) }
        results.append(
            await probe("sink (\(connector.sink.summary))", url: connector.sink.tokenURL, callTimeout: callTimeout) {
                try await checkSink(connector, httpClient: httpClient, clock: clock)
            })
        return results
    }

    /// Runs one checked call: the item, with what went wrong in plain words when it failed.
    /// - Parameter url: Where the call went, so that a transport failure is said plainly.
    static func probe(
        _ item: String, url: URL?, callTimeout: TimeInterval, _ call: () async throws -> Void
    ) async -> Result {
        do {
            try await call()
            return Result(item: item, problem: nil)
        } catch {
            let plain = url.flatMap { TransportFailure.describe(error, url: $0, timeout: callTimeout) }
            return Result(item: item, problem: plain ?? "\(error)")
        }
    }

    /// The sink answers (`http`: its token endpoint grants a token) or its folder is writable.
    static func checkSink(_ connector: ConnectorSettings, httpClient: HTTPClient, clock: any WallClock) async throws {
        switch connector.sink {
        case .http(let settings):
            let (sink, owned) = ConnectorAssembly.neuronsSink(settings, httpClient: httpClient, clock: clock)
            // With a private CA (`ca_file`) the check uses the sink's own client, as `serve` does.
            do {
                try await sink.checkToken()
                try? await owned?.shutdown()
            } catch {
                try? await owned?.shutdown()
                throw error
            }
        case .ndjson(let settings):
            if settings.path != "-" { try checkWritable((settings.path as NSString).deletingLastPathComponent) }
        case .csv(let settings):
            try checkWritable(settings.directory)
        }
    }

    struct NotWritable: Error, CustomStringConvertible {
        let description: String
    }

    static func checkWritable(_ directory: String) throws {
        let folder = directory.isEmpty ? "." : directory
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        guard FileManager.default.isWritableFile(atPath: folder) else {
            throw NotWritable(description: "\(folder) is not writable")
        }
    }
}

/// The Okta calls of one connector's check, one per permission, each on a client that tries once.
struct OktaProbes {
    let connector: ConnectorSettings
    let client: OktaAPIClient
    let callTimeout: TimeInterval

    /// One call to the connector's org.
    func probe(_ item: String, _ call: () async throws -> Void) async -> OnlineCheck.Result {
        await OnlineCheck.probe(item, url: connector.okta.url, callTimeout: callTimeout, call)
    }

    /// Reads the first item of a listing: enough to know the scope is granted.
    func readFirst<Item: Decodable & Sendable>(
        _: Item.Type, path: String, bucket: OktaBucket, endpoint: String
    ) async throws {
        let pages: OktaPages<Item> = client.pages(
            path: path, query: [("limit", "1")], bucket: bucket, endpoint: endpoint)
        var iterator = pages.makeAsyncIterator()
        _ = try await iterator.next()
    }

    /// Users, and with OAuth which token Okta gave.
    func users() async -> OnlineCheck.Result {
        var result = await probe("Okta users (okta.users.read)") {
            var pages = client.listUsers(statuses: [.active], limit: 1).makeAsyncIterator()
            _ = try await pages.next()
        }
        if case .oauth = connector.okta.credentials, result.problem == nil {
            // Which token Okta gave (SPEC §19): bound to the connector's DPoP key, or a plain Bearer.
            let dpop = await client.credentials.usesDPoP
            result.item += dpop ? "; DPoP-bound token" : "; Bearer token (DPoP off in the app)"
        }
        return result
    }

    /// Apps (`enrich.apps`).
    func apps() async -> OnlineCheck.Result {
        await probe("Okta apps (okta.apps.read)") {
            try await readFirst(OktaApplication.self, path: "/api/v1/apps", bucket: .apps, endpoint: "GET /api/v1/apps")
        }
    }

    /// Groups (`enrich.groups`): optional, so a scope the app was not granted is said, not failed.
    func groups() async -> OnlineCheck.Result {
        if await client.missingScopes().contains("okta.groups.read") {
            // Optional (SPEC §19): the connector works without it, leaving User.Groups out.
            return OnlineCheck.Result(
                item:
                    "Okta groups: not gathered, the OAuth app was not granted okta.groups.read (optional; grant it for User.Groups)",
                problem: nil)
        }
        return await probe("Okta groups (okta.groups.read)") {
            try await readFirst(
                OktaGroup.self, path: "/api/v1/groups", bucket: .groupsList, endpoint: "GET /api/v1/groups")
        }
    }

    /// The user scope (`user_scope.groups`): each listed group must name exactly one group (SPEC
    /// §19), so an unknown or ambiguous name is refused here, not found out by a run.
    func userScope() async -> OnlineCheck.Result {
        var described: String?
        var result = await probe("user scope (user_scope.groups, okta.groups.read)") {
            let scope = try await GroupScope.resolve(connector.scopeGroups, client: client)
            let members = try await scope.memberIds(client: client)
            let names = scope.groups.map { "\"\($0.name)\" (\($0.id))" }.joined(separator: ", ")
            described = "user scope: \(names), \(members.count) members"
        }
        if let described, result.problem == nil { result.item = described }
        return result
    }

    /// Devices (`enrich.devices`), which a Classic Engine org does not have.
    func devices() async -> OnlineCheck.Result {
        if await client.isClassicEngine() {
            return OnlineCheck.Result(
                item: "Okta devices: not gathered, the org runs Classic Engine (no Devices API)", problem: nil)
        }
        return await probe("Okta devices (okta.devices.read)") {
            try await readFirst(
                OktaDeviceWithUsers.self, path: "/api/v1/devices", bucket: .devices, endpoint: "GET /api/v1/devices")
        }
    }

    /// The System Log (a polling connector): one page of one event, newest first, a bounded query
    /// that reads nothing it does not need.
    func systemLog() async -> OnlineCheck.Result {
        await probe("Okta System Log (okta.logs.read)") {
            var components = URLComponents(
                url: client.orgURL.appendingPathComponent("/api/v1/logs"), resolvingAgainstBaseURL: false)!
            components.queryItems = [
                URLQueryItem(name: "limit", value: "1"), URLQueryItem(name: "sortOrder", value: "DESCENDING"),
            ]
            _ = try await client.systemLogPage(url: components.url!.absoluteString)
        }
    }
}
