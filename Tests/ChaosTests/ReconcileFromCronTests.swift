import ConnectorDomain
import ConnectorTestSupport
import Foundation
import GRDB
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension ChaosSuite {
    /// `okta-connector reconcile` run from cron or a Kubernetes CronJob, as a real process against
    /// `okta-sim` and a sink run by the test: a short sink outage is ridden out, a long one ends the
    /// command non-zero within `--forward-timeout`, and the run records which it was (SPEC §15).
    @Suite("reconcile from cron and a sink that blips (SPEC §15)", .serialized, .timeLimit(.minutes(4)))
    struct ReconcileFromCronTests {
        @Test func aShortSinkOutageIsRiddenOutAndALongOneEndsTheCommandAndIsRecorded() async throws {
            let directory = try TestDirectory("okta-reconcile-cron")
            defer { directory.remove() }
            let simulator = try await SimulatorProcess(users: 60, directory: directory)
            defer { simulator.process.stop(timeout: 5) }
            let sink = try await ChaosSink()
            let config = try directory.write(
                "config.yaml",
                """
                server: { insecure_plain_http: true }
                store: { url: sqlite://state.db }
                connectors:
                  - name: Cron org
                    okta: { url: \(simulator.baseURL), allow_insecure_http: true, api_token: sim-api-token }
                    schedule: { repeats: daily, start_time: "02:00" }
                    event_hook: { secrets: [cron-hook-secret-0123456789abcdef0123] }
                    sink: \(sink.yaml)
                """)
            func run(_ arguments: [String], timeout: TimeInterval = 90) async throws -> (status: Int32?, output: String)
            {
                try await TestProcess.run(
                    TestProcess.executable("okta-connector"), arguments: arguments + ["--config", config],
                    log: directory.path("cli-\(UUID().uuidString).log"), timeout: timeout)
            }
            func pending() throws -> Int {
                try StoreReader(path: directory.path("state.db")).read { db in
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox") ?? 0
                }
            }

            // Down for longer than --forward-timeout: exit 1 after retrying about that long.
            sink.set(.down)
            let started = Date()
            let down = try await run(["reconcile", "--connector", "Cron org", "--forward-timeout", "10s"])
            let took = Date().timeIntervalSince(started)
            #expect(down.status == 1, "\(down.output)")
            #expect(down.output.contains("did not take the changes after"), "\(down.output)")
            #expect(down.output.contains("run 1 recorded as not forwarded"), "\(down.output)")
            #expect(sink.refused >= 2, "retried, not given up at the first 503")
            #expect(took < 60, "bounded by --forward-timeout, not the 5-minute default: \(took) s")
            let queued = try pending()
            #expect(queued > 0, "the changes stay queued")
            let first = try await run(["runs", "show", "1", "--connector", "Cron org"])
            #expect(first.output.contains("forwarded:   no"), "\(first.output)")
            #expect(first.output.contains("Run 1 of \"Cron org\": succeeded"), "the run itself succeeded")

            // Back, with two one-second blips (503, Retry-After: 1) during the forward: exit 0.
            sink.set(.up)
            sink.blip(2)
            let refusedBefore = sink.refused
            let blipped = try await run(["reconcile", "--connector", "Cron org"])
            #expect(blipped.status == 0, "\(blipped.output)")
            #expect(sink.refused == refusedBefore + 2)
            #expect(try pending() == 0, "everything reached the sink")
            #expect(Set(sink.records.map(\.key)).count == queued)
            let second = try await run(["runs", "show", "2", "--connector", "Cron org"])
            #expect(second.output.contains("forwarded:   yes"), "\(second.output)")

            // Stopped by a signal while it retries: exit 130, and the run says its changes did not go.
            #expect(try await run(["resync", "--all", "--connector", "Cron org"]).status == 0)
            sink.set(.down)
            let refusedDown = sink.refused
            let stopped = try TestProcess(
                TestProcess.executable("okta-connector"),
                arguments: ["reconcile", "--connector", "Cron org", "--forward-timeout", "10m", "--config", config],
                log: directory.path("stopped.log"))
            defer { stopped.stop() }
            // Its run is over (the summary is written at once) and it is retrying the forward.
            let retrying = await eventually(timeout: 60) {
                stopped.output.contains("Run 3 succeeded") && sink.refused > refusedDown
            }
            #expect(retrying, "\(stopped.output)")
            stopped.signal(SIGINT)
            #expect(await stopped.waitForExit(timeout: 15) == 130, "\(stopped.output)")
            #expect(stopped.output.contains("while forwarding to the sink"), "\(stopped.output)")
            let third = try await run(["runs", "show", "3", "--connector", "Cron org"])
            #expect(third.output.contains("forwarded:   no"), "\(third.output)")
        }
    }
}
