import AsyncHTTPClient
import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import OktaClient
import SQLiteStore
import Synchronization
import Testing

/// Okta's answers that the simulator does not give on purpose, over a real socket: only `404
/// E0000007` is a deletion, hostile rate-limit headers never stall a call, and the reconcile never
/// writes or removes anything false (SPEC §5, §6, §15).
@Suite("Okta's unusual answers (SPEC §5, §6, §15)", .serialized, .timeLimit(.minutes(3)))
struct OktaAnswerTests {
    final class Setup: @unchecked Sendable {
        let okta: FakeOkta
        let store: SQLiteStateStore
        let directory: URL
        var settings: ConnectorSettings

        init(statuses: [OktaUserStatus] = [.active]) async throws {
            okta = try await FakeOkta()
            directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "okta-answers-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            store = try SQLiteStateStore(path: directory.appendingPathComponent("state.db").path)
            settings = try okta.settings(statuses: statuses)
        }

        deinit { try? FileManager.default.removeItem(at: directory) }

        func client(clock: any WallClock = SystemWallClock()) -> OktaAPIClient {
            ConnectorAssembly.oktaClient(
                for: settings, httpClient: HTTPClient.shared, clock: clock, logger: quietLogger,
                retry: RetryPolicy(maximumAttempts: 2, initialDelay: 0.01, maximumDelay: 0.02))
        }

        func reconcile(_ options: ReconcileOptions = ReconcileOptions(trigger: .manual)) async throws -> RunRecord {
            try await Reconciler(
                connector: settings, client: client(), store: store, clock: SystemWallClock(), logger: quietLogger
            ).run(options)
        }

        func present() async throws -> Set<String> {
            Set(try await store.presentUsers(connector: settings.slug, after: nil, limit: 1000).map(\.userId))
        }
    }

    static let foreign404Bodies = [
        #"{"errorCode":"E0000022","errorSummary":"The endpoint does not support the provided HTTP method","errorLink":"E0000022","errorId":"x","errorCauses":[]}"#,
        "<html><body><h1>404 Not Found</h1>nginx</body></html>", "", "{}",
        #"{"errorCode":"E0000007""#,
    ]

    @Test func okta404E0000007MeansTheUserIsGone() async throws {
        let setup = try await Setup()
        await #expect {
            _ = try await setup.client().user(id: "00uGone")
        } throws: { error in
            if case OktaError.notFound = error { return true }
            return false
        }
    }

    @Test(arguments: foreign404Bodies)
    func any404ThatIsNotOktasIsAnErrorNeverADeletion(_ body: String) async throws {
        let setup = try await Setup()
        setup.okta.state.script.withLock { $0 = [FakeOkta.Answer(status: 404, body: body)] }
        await #expect {
            _ = try await setup.client().user(id: "00u1")
        } throws: { error in
            if case OktaError.apiError(_, 404, _) = error { return true }
            return false
        }
    }

    @Test func aWrongBasePathIsAnErrorNotADeletion() async throws {
        let setup = try await Setup()
        setup.settings.okta.url = URL(string: setup.okta.url + "/wrong-prefix")!
        await #expect {
            _ = try await setup.client().user(id: "00u1")
        } throws: { error in
            if case OktaError.apiError(_, 404, _) = error { return true }
            return false
        }
    }

    static let hostileRateLimitHeaders: [(String, String)] = [
        ("99999999999999999999", "Thu, 27 Aug 2020 18:19:24 GMT"), ("1e308", "garbage"), ("nan", ""),
        ("-5", "Thu, 27 Aug 99999999999 18:19:24 GMT"), ("253402300799", "Mon, 01 Jan 0001 00:00:00 GMT"),
        ("1", "Fri, 31 Dec 9999 23:59:59 GMT"), ("", "Thu, 99 Foo 2026 99:99:99 GMT"),
        ("9223372036854775807", "Thu, 27 Aug 2020 18:19:24 GMT"),
    ]

    @Test(arguments: hostileRateLimitHeaders)
    func hostileRateLimitHeadersOnA429WaitAtMostTwoMinutesPastAWindow(_ reset: String, _ date: String) async throws {
        let setup = try await Setup()
        setup.okta.state.users.withLock { $0 = [("00u1", "ACTIVE")] }
        let headers = [
            "X-Rate-Limit-Limit": "600", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": reset, "Date": date,
        ]
        setup.okta.state.script.withLock {
            $0 = [
                FakeOkta.Answer(status: 429, headers: headers, body: #"{"errorCode":"E0000047"}"#),
                FakeOkta.Answer(status: 200, headers: headers, body: FakeOkta.userJSON("00u1", status: "ACTIVE")),
            ]
        }
        let clock = ManualClock(now: Date())
        let client = setup.client(clock: clock)
        let call = Task { try await client.user(id: "00u1") }
        defer { call.cancel() }
        #expect(await clock.waitForSleepers(1))
        let wait = try #require(clock.nextDeadline).timeIntervalSince(clock.now)
        #expect(wait >= 0 && wait <= HeaderValues.maximumResetWait + 1.5, "waits \(wait) s")
        clock.advance(by: wait + 1)
        #expect(try await call.value.id == "00u1")
    }

    @Test func aUserDeletedBetweenTheListingAndItsEnrichmentIsSkippedNotWrittenEmpty() async throws {
        let setup = try await Setup()
        setup.okta.state.users.withLock { $0 = (1...10).map { ("00u\($0)", "ACTIVE") } }
        setup.okta.state.gone.withLock { $0 = ["00u3"] }
        let first = try await setup.reconcile()
        #expect(first.outcome == .succeeded, "\(first.errors)")
        #expect(first.counts.listed == 10)
        #expect(first.counts.created == 9)
        #expect(try await setup.present() == Set((1...10).filter { $0 != 3 }.map { "00u\($0)" }))

        // Known from an earlier run, then deleted during this one: the sweep removes it (it is gone),
        // it is never rewritten with empty apps and devices.
        setup.okta.state.gone.withLock { $0 = [] }
        _ = try await setup.reconcile()
        #expect(try await setup.present().contains("00u3"))
        setup.okta.state.gone.withLock { $0 = ["00u3"] }
        let third = try await setup.reconcile()
        #expect(third.outcome == .succeeded, "\(third.errors)")
        #expect(third.counts.updated == 0, "nothing rewritten")
        #expect(third.counts.removed == 1)
        #expect(try await !setup.present().contains("00u3"))
    }

    @Test func usersWhoseStatusIsNoLongerSelectedCountAgainstTheCircuitBreaker() async throws {
        let setup = try await Setup(statuses: [.active])
        setup.okta.state.users.withLock { $0 = (1...10).map { ("00u\($0)", "ACTIVE") } }
        #expect(try await setup.reconcile().counts.created == 10)

        // Okta returns three users with a status the connector no longer selects: 30% > 20%.
        setup.okta.state.users.withLock { $0 = (1...10).map { ("00u\($0)", $0 <= 3 ? "SUSPENDED" : "ACTIVE") } }
        let held = try await setup.reconcile()
        #expect(held.outcome == .held, "\(held.errors)")
        #expect(held.counts.removed == 0)
        #expect(try await setup.present().count == 10, "nothing removed while held")
        let dryRun = try await setup.reconcile(ReconcileOptions(trigger: .manual, dryRun: true, confirmRemovals: true))
        #expect(dryRun.counts.removed == 3, "a dry run counts them once")

        let confirmed = try await setup.reconcile(ReconcileOptions(trigger: .manual, confirmRemovals: true))
        #expect(confirmed.outcome == .succeeded, "\(confirmed.errors)")
        #expect(confirmed.counts.removed == 3)
        #expect(try await setup.present() == Set((4...10).map { "00u\($0)" }))
    }
}
