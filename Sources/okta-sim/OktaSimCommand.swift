import ArgumentParser
import Dispatch
import Foundation
import Logging
import OktaSimulator

/// `okta-sim`: a simulated Okta org on this machine, for trying, testing and benchmarking the connector.
@main
struct OktaSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "okta-sim",
        abstract: "Run a simulated Okta org: Management API, OAuth service apps, event hooks, fault injection.",
        discussion: """
            The org is generated from the seed: the same seed gives the same users, groups, apps and devices. \
            Okta's API is under /api/v1 and /oauth2/v1/token; the control API (changes, faults, \
            churn, statistics) is under /sim/v1 and has no authentication, so keep the simulator on \
            loopback. Stop it with Ctrl-C.
            """
    )

    @Option(help: "Users to generate.") var users = 10_000
    @Option(help: "Groups to generate besides Everyone and the 12 groups that assign apps; each user is in a few.")
    var groups = 8
    @Flag(help: "A Classic Engine org: the organization endpoint says pipeline v1 and the Devices API answers 404.")
    var classic = false
    @Option(help: "Generator seed.") var seed: UInt64 = 7
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port = 8080
    @Flag(help: "Serve HTTPS with a self-signed certificate generated at start.") var tls = false
    @Option(help: "With --tls, write the generated certificate (PEM) here for clients to trust.")
    var certificateOut: String?
    @Option(help: "With --tls, a DNS name the certificate also names (besides localhost); repeat for several.")
    var tlsName: [String] = []
    @Option(
        help:
            "The org URL clients use when it is not the listening address, e.g. https://bench.okta.com for a host name mapped to 127.0.0.1: links and Link headers name it."
    )
    var publicURL: String?
    @Option(name: .customLong("api-token"), help: "An accepted API token (SSWS); repeat for several.")
    var apiTokens: [String] = ["sim-api-token"]
    @Flag(help: "Switch rate limits off (for CPU benchmarks).") var noRateLimits = false
    @Option(help: "Rate-limit window in seconds (Okta: about 60); shorter windows make benchmarks quicker.")
    var rateLimitWindow: Double = 60
    @Option(help: "Seconds the simulator's clock is ahead of this machine's (negative: behind).")
    var clockSkew: Double = 0
    @Option(help: "A PEM file of certificates to trust when delivering to HTTPS event hooks.")
    var hookCA: String?
    @Option(
        help: ArgumentHelp(
            "Event hook events the org may receive in 24 hours, every hook together (Okta: 400000).",
            discussion:
                "The window opens with the first event and lasts 24 hours of the simulator's clock; past the cap events are dropped, and the System Log gets Okta's warning at 70 % and its violation at the cap."
        ))
    var hookDailyCap = 400_000
    @Option(help: "Mutations per second applied by the churn driver (0: none).") var churn: Double = 0
    @Option(
        help: ArgumentHelp(
            "Register an OAuth 2.0 service app with this client id (with --oauth-public-key or --oauth-client-secret).",
            discussion:
                "Like Okta's new apps it requires DPoP (RFC 9449) unless --oauth-no-dpop is given, and is granted every read scope and okta.eventHooks.manage."
        ))
    var oauthClient: String?
    @Option(
        help: "With --oauth-client: the PEM public key (RSA or EC P-256) the app's client assertions are signed for.")
    var oauthPublicKey: String?
    @Option(help: "With --oauth-client: a client secret (client_secret_basic) instead of a key.")
    var oauthClientSecret: String?
    @Flag(help: "With --oauth-client: the app does not require DPoP (an app created before Okta made it the default).")
    var oauthNoDpop = false

    /// The OAuth service app of `--oauth-client`, if one is asked for.
    func serviceApp() throws -> SimulatedServiceApp? {
        guard let oauthClient else {
            guard oauthPublicKey == nil, oauthClientSecret == nil else {
                throw ValidationError("--oauth-public-key and --oauth-client-secret need --oauth-client")
            }
            return nil
        }
        let scopes: Set<String> = [
            "okta.users.read", "okta.apps.read", "okta.devices.read", "okta.logs.read", "okta.groups.read",
            "okta.eventHooks.read", "okta.eventHooks.manage",
        ]
        switch (oauthPublicKey, oauthClientSecret) {
        case (let path?, nil):
            let pem: String
            do {
                pem = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ValidationError(
                    "--oauth-public-key \(path): cannot read the file (\(error.localizedDescription))")
            }
            return SimulatedServiceApp(
                clientId: oauthClient, publicKeyPEM: pem, grantedScopes: scopes, requireDPoP: !oauthNoDpop)
        case (nil, let secret?):
            return SimulatedServiceApp(
                clientId: oauthClient, clientSecret: secret, grantedScopes: scopes, requireDPoP: !oauthNoDpop)
        default:
            throw ValidationError("--oauth-client needs exactly one of --oauth-public-key and --oauth-client-secret")
        }
    }

    func run() async throws {
        var options = SimulatorOptions()
        options.users = users
        guard groups >= 0 else { throw ValidationError("--groups \(groups): expected 0 or more") }
        options.groups = groups
        options.classic = classic
        options.seed = seed
        options.host = host
        options.port = port
        options.apiTokens = Set(apiTokens)
        options.rateLimits =
            noRateLimits ? nil : RateLimitSettings(limits: RateLimitSettings.enterprise.limits, window: rateLimitWindow)
        options.clockSkew = clockSkew
        guard hookDailyCap >= 0 else { throw ValidationError("--hook-daily-cap \(hookDailyCap): expected 0 or more") }
        options.hookDailyCap = hookDailyCap
        if let publicURL {
            guard let url = URL(string: publicURL), let scheme = url.scheme, ["http", "https"].contains(scheme),
                url.host != nil, url.path.isEmpty || url.path == "/"
            else {
                throw ValidationError("--public-url \(publicURL): expected http(s)://host[:port] with no path")
            }
            options.publicURL = publicURL
        }
        if let hookCA { options.hookTrustRootsPEM = [try String(contentsOfFile: hookCA, encoding: .utf8)] }
        if let app = try serviceApp() { options.serviceApps = [app] }
        if tls {
            let certificate = try SelfSignedCertificate(dnsNames: tlsName)
            options.tls = (certificate.certificatePEM, certificate.privateKeyPEM)
            if let certificateOut {
                try certificate.certificatePEM.write(toFile: certificateOut, atomically: true, encoding: .utf8)
            }
        }
        options.logger.logLevel = .warning
        let started = Date()
        let simulator = try await OktaSimulator.start(options)
        say(
            "okta-sim: \(users) users, \(simulator.org.groups().count) groups (seed \(seed)) at \(simulator.baseURL), ready in \(String(format: "%.2f", Date().timeIntervalSince(started))) s"
        )
        say("  API token: SSWS \(apiTokens.first ?? "")   rate limits: \(noRateLimits ? "off" : "Okta Enterprise")")
        if classic { say("  Classic Engine: no Devices API") }
        if clockSkew != 0 {
            say("  clock: \(String(format: "%+.0f", clockSkew)) s from this machine's (Date, published, lastUpdated)")
        }
        if hookDailyCap != 400_000 { say("  event hook daily cap: \(hookDailyCap) events in 24 hours") }
        if let app = options.serviceApps.first {
            say(
                "  OAuth service app: \(app.clientId) (\(app.clientSecret == nil ? "private_key_jwt" : "client_secret_basic"), DPoP \(app.requireDPoP ? "required" : "off"))"
            )
        }
        if churn > 0 {
            simulator.churn.start(perSecond: churn, duration: nil)
            say("  churn: \(churn) mutations/s")
        }
        await waitForTermination()
        say("okta-sim: stopping")
        await simulator.stop()
    }

    /// Writes a line to standard output at once (unbuffered, so a parent reading a pipe sees it).
    func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Waits for SIGINT or SIGTERM.
    func waitForTermination() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = SignalOnce(continuation)
            for signalNumber in [SIGINT, SIGTERM] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .main)
                source.setEventHandler { once.fire() }
                source.resume()
                SignalOnce.sources.append(source)
            }
        }
    }
}

/// Resumes a continuation once, whichever signal comes first.
final class SignalOnce: @unchecked Sendable {
    nonisolated(unsafe) static var sources: [any DispatchSourceSignal] = []
    private var continuation: CheckedContinuation<Void, Never>?
    private let lock = NSLock()

    init(_ continuation: CheckedContinuation<Void, Never>) { self.continuation = continuation }

    func fire() {
        lock.lock()
        let pending = continuation
        continuation = nil
        lock.unlock()
        pending?.resume()
    }
}
