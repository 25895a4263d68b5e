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
        var results: [Result] = []
        func probe(_ item: String, url: URL?, _ call: () async throws -> Void) async {
            do {
                try await call()
                results.append(Result(item: item, problem: nil))
            } catch {
                let plain = url.flatMap { TransportFailure.describe(error, url: $0, timeout: callTimeout) }
                results.append(Result(item: item, problem: plain ?? "\(error)"))
            }
        }
        await probe("Okta users (okta.users.read)", url: connector.okta.url) {
            var pages = client.listUsers(statuses: [.active], limit: 1).makeAsyncIterator()
            _ = try await pages.next()
        }
        if case .oauth = connector.okta.credentials, results.last?.problem == nil {
            // Which token Okta gave (SPEC §19): bound to the connector's DPoP key, or a plain Bearer.
            let dpop = await client.credentials.usesDPoP
            results[results.count - 1].item += dpop ? "; DPoP-bound token" : "; Bearer token (DPoP off in the app)"
        }
        if connector.enrich.apps {
            await probe("Okta apps (okta.apps.read)", url: connector.okta.url) {
                let pages: OktaPages<OktaApplication> = client.pages(
                    path: "/api/v1/apps", query: [("limit", "1")], bucket: .apps, endpoint: "GET /api/v1/apps")
                var iterator = pages.makeAsyncIterator()
                _ = try await iterator.next()
            }
        }
        if connector.enrich.groups {
            if await client.missingScopes().contains("okta.groups.read") {
                // Optional (SPEC §19): the connector works without it, leaving User.Groups out.
                results.append(
                    Result(
                        item:
                            "Okta groups: not gathered, the OAuth app was not granted okta.groups.read (optional; grant it for User.Groups)",
                        problem: nil))
            } else {
                await probe("Okta groups (okta.groups.read)", url: connector.okta.url) {
                    let pages: OktaPages<OktaGroup> = client.pages(
                        path: "/api/v1/groups", query: [("limit", "1")], bucket: .groupsList,
                        endpoint: "GET /api/v1/groups"
                    )
                    var iterator = pages.makeAsyncIterator()
                    _ = try await iterator.next()
                }
            }
        }
        if !connector.scopeGroups.isEmpty {
            // Each listed group must name exactly one group (SPEC §19): an unknown or ambiguous name
            // is refused here, not found out by a run.
            var described: String?
            await probe("user scope (user_scope.groups, okta.groups.read)", url: connector.okta.url) {
                let scope = try await GroupScope.resolve(connector.scopeGroups, client: client)
                let members = try await scope.memberIds(client: client)
                let names = scope.groups.map { "\"\($0.name)\" (\($0.id))" }.joined(separator: ", ")
                described = "user scope: \(names), \(members.count) members"
            }
            if let described, results.last?.problem == nil { results[results.count - 1].item = described }
        }
        if connector.enrich.devices, await client.isClassicEngine() {
            results.append(
                Result(item: "Okta devices: not gathered, the org runs Classic Engine (no Devices API)", problem: nil))
        } else if connector.enrich.devices {
            await probe("Okta devices (okta.devices.read)", url: connector.okta.url) {
                let pages: OktaPages<OktaDeviceWithUsers> = client.pages(
                    path: "/api/v1/devices", query: [("limit", "1")], bucket: .devices, endpoint: "GET /api/v1/devices")
                var iterator = pages.makeAsyncIterator()
                _ = try await iterator.next()
            }
        }
        if connector.eventSource.polls {
            // One page of one event, newest first: a bounded query, so it reads nothing it does not need.
            await probe("Okta System Log (okta.logs.read)", url: connector.okta.url) {
                var components = URLComponents(
                    url: client.orgURL.appendingPathComponent("/api/v1/logs"), resolvingAgainstBaseURL: false)!
                components.queryItems = [
                    URLQueryItem(name: "limit", value: "1"), URLQueryItem(name: "sortOrder", value: "DESCENDING"),
                ]
                _ = try await client.systemLogPage(url: components.url!.absoluteString)
            }
        }
        await probe("sink (\(connector.sink.summary))", url: connector.sink.tokenURL) {
            try await checkSink(connector, httpClient: httpClient, clock: clock)
        }
        return results
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
