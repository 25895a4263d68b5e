import AsyncHTTPClient
public import ConnectorDomain
public import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

/// How to run the simulator.
public struct SimulatorOptions: Sendable {
    /// Same seed, same org.
    public var seed: UInt64 = 7
    /// Users generated from the seed.
    public var users: Int = 1000
    /// Groups generated from the seed besides `Everyone` and the 12 groups that assign apps; each user
    /// is in a few of them.
    public var groups: Int = 8
    /// A Classic Engine org: `/.well-known/okta-organization` says `pipeline: v1` and the Devices API
    /// answers `404`, as it exists only on Identity Engine.
    public var classic = false
    /// Accepted API tokens (`Authorization: SSWS <token>`).
    public var apiTokens: Set<String> = ["sim-api-token"]
    /// OAuth 2.0 service apps that may get access tokens.
    public var serviceApps: [SimulatedServiceApp] = []
    /// Rate limits; `nil` switches them off (CPU benchmarks).
    public var rateLimits: RateLimitSettings? = .enterprise
    /// Seconds the simulator's clock differs from this machine's.
    public var clockSkew: TimeInterval = 0
    /// The clock the skew applies to: the system's, or a manual one in tests, so rate-limit windows
    /// move only when a test says so.
    public var baseClock: any WallClock = SystemWallClock()
    /// Serve HTTPS with this certificate and key (PEM); `nil` serves plain HTTP.
    public var tls: (certificatePEM: String, privateKeyPEM: String)?
    /// PEM certificates to trust when delivering to HTTPS event hooks (in addition to the system's).
    public var hookTrustRootsPEM: [String] = []
    /// Where to listen; port 0 picks a free one.
    public var host = "127.0.0.1"
    public var port = 0
    /// The org URL clients use, when it is not the listening address (for example
    /// `https://bench.okta.com` mapped to 127.0.0.1): what `_links` and `Link` headers name.
    public var publicURL: String?
    /// The end of the generated history.
    public var epoch: Timestamp = Timestamp.parse("2026-06-01T00:00:00Z")!
    /// Where the simulator logs.
    public var logger = Logger(label: "okta-sim")
    /// Events the System Log keeps; the oldest leave first.
    public var systemLogCapacity = 200_000
    /// Event hook events the org may receive in a 24-hour window, every hook together (Okta's cap:
    /// 400,000); past it, events are dropped. Lower it so that a test reaches it.
    public var hookDailyCap = 400_000

    /// Default options: 1000 users and 8 generated groups, seed 7, an Identity Engine org, Enterprise rate
    /// limits, plain HTTP on a free loopback port.
    public init() {}
}

/// A running simulated Okta org: the Management API, OAuth token endpoint, event hook delivery and
/// a control API, served over real sockets (SPEC §13).
public final class OktaSimulator: Sendable {
    public let org: SimulatedOrg
    public let options: SimulatorOptions
    /// `http(s)://host:port`, the org URL the connector is configured with.
    public let baseURL: String
    public let port: Int
    /// Requests answered, by endpoint and status.
    public let requestCounters = RequestCounters()
    public let churn: ChurnDriver
    let faultInjector = FaultInjector()
    let registry = EventHookRegistry()
    /// The System Log, fed by the same mutations as the event hooks.
    let systemLog: SystemLogJournal
    let deliverer: HookDeliverer
    let base: SimulatorBaseURL
    let httpClient: HTTPClient
    private let serviceGroup: ServiceGroup
    private let runTask: Task<Void, any Error>

    /// Starts a simulator and returns once it accepts connections.
    /// - Parameter options: How to run it.
    public static func start(_ options: SimulatorOptions = SimulatorOptions()) async throws -> OktaSimulator {
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        return try await OktaSimulator(options: options, portStream: portStream, portContinuation: portContinuation)
    }

    private init(
        options: SimulatorOptions, portStream: AsyncStream<Int>, portContinuation: AsyncStream<Int>.Continuation
    ) async throws {
        self.options = options
        let clock = SkewedClock(base: options.baseClock, skew: options.clockSkew)
        org = SimulatedOrg(
            blueprint: OrgBlueprint(
                seed: options.seed, userCount: options.users, groupCount: options.groups, epoch: options.epoch),
            clock: clock)
        churn = ChurnDriver(org: org, seed: options.seed &+ 1)
        systemLog = SystemLogJournal(capacity: options.systemLogCapacity)

        var clientTLS = TLSConfiguration.makeClientConfiguration()
        if !options.hookTrustRootsPEM.isEmpty {
            let certificates = try options.hookTrustRootsPEM.flatMap {
                try NIOSSLCertificate.fromPEMBytes(Array($0.utf8))
            }
            clientTLS.additionalTrustRoots = [.certificates(certificates)]
        }
        var clientConfiguration = HTTPClient.Configuration(tlsConfiguration: clientTLS)
        clientConfiguration.timeout = .init(connect: .seconds(3), read: .seconds(3))
        httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)

        // The port is known only once the server runs: every part reads the base URL from a box
        // that is filled before the first request can arrive.
        let base = SimulatorBaseURL()
        self.base = base
        let router = Router(context: SimulatorRequestContext.self)
        deliverer = HookDeliverer(
            registry: registry, client: httpClient, clock: clock, base: base, systemLog: systemLog,
            dailyCap: options.hookDailyCap, logger: options.logger)
        let oauth = OAuthServiceApps(apps: options.serviceApps, clock: clock)
        router.add(
            middleware: OktaAPIMiddleware(
                clock: clock, limiter: options.rateLimits.map(RateLimiter.init), faults: faultInjector,
                apiTokens: options.apiTokens, oauth: oauth, counters: requestCounters, base: base))
        ManagementAPI(org: org, base: base, faults: faultInjector, classic: options.classic).register(on: router)
        OrganizationAPI(organizationId: org.blueprint.ids.organization(), classic: options.classic, base: base)
            .register(on: router)
        EventHooksAPI(registry: registry, client: httpClient, clock: clock, base: base, adminId: org.adminId)
            .register(on: router)
        router.post("/oauth2/v1/token") { request, _ in
            await oauth.handle(request, tokenURL: base.value + "/oauth2/v1/token")
        }
        ControlAPI(
            org: org, base: base, faults: faultInjector, deliverer: deliverer, churn: churn, counters: requestCounters
        )
        .register(on: router)
        SystemLogAPI(journal: systemLog, base: base, clock: clock, faults: faultInjector).register(on: router)
        let deliverer = self.deliverer
        let systemLog = self.systemLog
        // Okta records every event in its System Log, whether a hook delivers it or not.
        org.onEvents { events in
            systemLog.append(events, at: Timestamp(clock.now))
            deliverer.enqueue(events)
        }

        let scheme = options.tls == nil ? "http" : "https"
        let server: HTTPServerBuilder
        if let tls = options.tls {
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(tls.certificatePEM.utf8)).map {
                    .certificate($0)
                },
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(tls.privateKeyPEM.utf8), format: .pem)))
            configuration.minimumTLSVersion = .tlsv12
            server = try .tls(.http1(), tlsConfiguration: configuration)
        } else {
            server = .http1()
        }
        let app = SimulatorHTTPService(
            responder: router.buildResponder(), serverBuilder: server,
            address: .hostname(options.host, port: options.port), clock: clock,
            logger: options.logger,
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            })
        serviceGroup = ServiceGroup(
            configuration: .init(services: [app, deliverer], gracefulShutdownSignals: [], logger: options.logger))
        let group = serviceGroup
        runTask = Task { try await group.run() }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            runTask.cancel()
            try? await httpClient.shutdown()
            throw SimulatorError.couldNotStart
        }
        self.port = port
        let host = options.host.contains(":") ? "[\(options.host)]" : options.host
        var publicURL = options.publicURL ?? "\(scheme)://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)"
        while publicURL.hasSuffix("/") { publicURL.removeLast() }
        baseURL = publicURL
        base.value = baseURL
    }

    /// Stops serving and delivering.
    public func stop() async {
        churn.stop()
        deliverer.finish()
        await serviceGroup.triggerGracefulShutdown()
        _ = try? await runTask.value
        try? await httpClient.shutdown()
    }

    /// Okta's JSON shapes with this simulator's links.
    var representations: OktaRepresentations { OktaRepresentations(baseURL: baseURL, ids: org.blueprint.ids) }

    /// Faults injected into the Management API from now on.
    public var faults: FaultPlan {
        get { faultInjector.current }
        set { faultInjector.set(newValue) }
    }

    /// How event hook delivery misbehaves from now on.
    public var hookBehaviour: HookBehaviour {
        get { deliverer.behaviour }
        set { deliverer.behaviour = newValue }
    }

    /// What event hook delivery did so far, the daily cap's window included.
    public var hookStats: HookDeliveryStats { deliverer.stats }

    /// The org's daily cap of event hook events, every hook together; a change applies to the
    /// current 24-hour window.
    public var hookDailyCap: Int {
        get { deliverer.cap }
        set { deliverer.cap = newValue }
    }

    /// Records sign-ins across the org's active users, as a burst of a compressed day: `count`
    /// events, `user.session.start` mixed with `user.authentication.sso`, fed to the System Log and
    /// the event hooks like every mutation. Emitted in chunks no faster than hooks take them, so
    /// memory stays bounded however many are asked for.
    /// - Parameter count: The events to emit.
    /// - Returns: The events emitted: fewer than asked only when the org has no active user or the
    ///   simulator stops.
    @discardableResult
    public func recordSignIns(_ count: Int) async -> Int {
        await BulkSignIns(org: org, deliverer: deliverer).run(count)
    }

    /// How many events the System Log holds.
    public var systemLogCount: Int { systemLog.count }

    /// The org's event hooks.
    public var eventHooks: [EventHookObject] { registry.all().map { $0.redacted(baseURL: baseURL) } }

    /// Waits until every emitted event has been delivered, dropped or given up on.
    /// - Parameter timeout: Give up after this long.
    public func waitForDeliveries(timeout: TimeInterval = 10) async {
        let end = Date().addingTimeInterval(timeout)
        // The batch window must pass before a buffered event is even taken.
        try? await Task.sleep(for: .milliseconds(150))
        while !deliverer.isIdle, Date() < end {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// Why the simulator could not run.
public enum SimulatorError: Error, CustomStringConvertible {
    case couldNotStart

    public var description: String { "the simulator could not bind its listener" }
}

/// The base URL, set once the port is known.
final class SimulatorBaseURL: Sendable {
    private let storage = Mutex("")
    var value: String {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}

extension OktaSimulator {
    /// What a correct connector holds for a simulated user: the user with its assigned apps and
    /// devices, as Okta's API presents them. Tests compare the connector's state with this truth.
    /// - Parameter groups: Whether the connector gathers groups (`enrich.groups`).
    public func expectedSnapshot(of user: SimUser, groups: Bool = false) -> UserSnapshot {
        let ids = org.blueprint.ids
        let apps = user.assignedApps.map { entry in
            AssignedApp(
                appName: NameCatalogue.apps[entry.app].name, label: NameCatalogue.apps[entry.app].label,
                instanceId: ids.app(entry.app))
        }
        let devices = user.devices.map { device in
            DeviceSummary(
                id: ids.device(device.index), name: device.displayName, platform: device.platform,
                osVersion: device.osVersion, manufacturer: device.manufacturer, model: device.model,
                serialNumber: device.serialNumber)
        }
        // A Classic Engine org has no Devices API: a correct connector skips device enrichment there.
        let memberships = expectedGroups(of: user).map { GroupMembership(groupId: $0.id, name: $0.name) }
        return UserSnapshot(
            user: user.oktaUser, apps: apps, devices: options.classic ? nil : devices,
            groups: groups ? memberships : nil)
    }

    /// The groups a correct connector maps for a simulated user (`User.Groups`): every group the user
    /// is in but the built-in `Everyone`, sorted by name, then id.
    public func expectedGroups(of user: SimUser) -> [SimGroup] {
        (org.groups(ofUser: user.id) ?? []).filter { $0.type != .builtIn }.sorted {
            ($0.name, $0.id) < ($1.name, $1.id)
        }
    }

    /// The id of an app of the catalogue, by index.
    public func appId(_ index: Int) -> String { org.blueprint.ids.app(index) }

    /// How many apps the catalogue has.
    public static var appCount: Int { NameCatalogue.apps.count }
}
