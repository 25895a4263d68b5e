import AsyncHTTPClient
import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorServer
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Logging
import OktaSimulator
import SQLiteStore
import ServiceLifecycle
import Testing

/// Okta's clock two minutes behind (SPEC §20): the lag of an event seconds old is shown as seconds,
/// not two minutes. The simulator's clock is skewed by −120 s and serves HTTPS; the connector polls
/// its System Log and measures the offset from the `Date` of every answer.
@Suite("Okta's clock behind this host's", .serialized, .timeLimit(.minutes(3)))
struct OktaClockSkewTests {
    @Test func theLagOfAnEventThreeSecondsOldIsShownAsThreeSecondsWithOktaTwoMinutesBehind() async throws {
        let certificate = try SelfSignedCertificate()
        var options = SimulatorOptions()
        options.users = 20
        options.clockSkew = -120
        options.tls = (certificate.certificatePEM, certificate.privateKeyPEM)
        options.logger.logLevel = .critical
        let simulator = try await OktaSimulator.start(options)
        let httpClient = try makeTrustingClient(certificate)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("okta-skew-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try SQLiteStateStore(path: directory.appendingPathComponent("state.db").path)
        var connector = connectorSettings(org: simulator.baseURL, secrets: [])
        connector.eventSource = .systemLog
        connector.systemLog = SystemLogSettings(interval: 1)
        connector.sink = .ndjson(
            NDJSONSinkSettings(path: directory.appendingPathComponent("out.ndjson").path, batchSize: 500))
        let configuration = ServiceConfiguration(
            file: "(test)",
            server: ServerSettings(
                listen: ListenAddress(host: "127.0.0.1", port: 0), tls: nil, admin: nil, connectorServer: "Cloud",
                maxBodyBytes: 1 << 20),
            store: StoreSettings(backend: .sqlite(path: "unused")),
            logging: LoggingSettings(format: .json, level: "error"), connectors: [connector])
        let running = try await InProcessApplication.start(configuration, store: store, httpClient: httpClient)
        defer {
            Task {
                await running.stop()
                await simulator.stop()
                try? await httpClient.shutdown()
                try? FileManager.default.removeItem(at: directory)
            }
        }
        #expect(simulator.baseURL.hasPrefix("https://"))
        // The keep-alive keeps the offset it measured (within the Date header's second).
        let measured = await eventually(timeout: 90) {
            guard let offset = try? await store.oktaContact(connector: "test-org")?.clock?.seconds else { return false }
            return abs(offset + 120) <= 1
        }
        #expect(measured, "no offset near -120 s kept")

        // A change in Okta, read by polling within a second or two.
        let user = try #require(simulator.org.allUsers().first { $0.status == .active })
        _ = try simulator.org.updateProfile(id: user.id, changes: ["title": "Stamped by a slow clock"])
        let published = await eventually(timeout: 30) {
            guard let newest = try? await store.systemLogCursor(connector: "test-org")?.newestPublished else {
                return false
            }
            // The event's own time on Okta's clock: two minutes before this host's now.
            return Date().timeIntervalSince(newest.date) > 100
        }
        #expect(published)
        let cursor = try #require(try await store.systemLogCursor(connector: "test-org"))
        let newest = try #require(cursor.newestPublished)
        let contact = try #require(try await store.oktaContact(connector: "test-org"))
        // When the event is 3 s old by this host's clock (Okta's time + 120 s, plus 3 s), read what
        // `status`, the console and the API show (they read the store, as here).
        // The event's true time on this host's clock: the simulator's skew is exactly −120 s.
        let eventHere = newest.date.addingTimeInterval(120)
        let showAt = eventHere.addingTimeInterval(3)
        if showAt > Date() { try await Task.sleep(for: .milliseconds(Int64(showAt.timeIntervalSinceNow * 1000))) }
        let now = Date()
        let status = try await StatusReport.connector(
            store: store, name: "test-org", slug: "test-org", server: "Cloud", active: true,
            oktaURL: simulator.baseURL, statuses: ["ACTIVE"], schedule: "daily", hookPath: "/hooks/okta/test-org",
            lastDelivery: nil, eventSource: "system_log", now: now)
        let shown = status.oktaClock.age(of: newest, now: now)
        let uncorrected = now.timeIntervalSince(newest.date)
        // The event's true age when read (3 s, or more when a loaded machine woke this test late).
        let trueAge = now.timeIntervalSince(eventHere)
        print(
            "Okta's clock offset measured \(String(format: "%.2f", contact.clock?.seconds ?? .nan)) s; "
                + "lag shown for an event \(String(format: "%.2f", trueAge)) s old: \(String(format: "%.2f", shown)) s "
                + "(uncorrected: \(String(format: "%.2f", uncorrected)) s)")
        #expect(abs(shown - trueAge) <= 1.2, "shown \(shown) s for an event \(trueAge) s old")
        #expect(uncorrected >= trueAge + 118)
        // Rounded to the second from a measurement within a second of the skew.
        let summary = status.oktaClock?.summary ?? ""
        #expect(
            [119, 120, 121].contains { summary.hasPrefix("Okta's clock is \($0) s behind this host's") }, "\(summary)")
    }
}
