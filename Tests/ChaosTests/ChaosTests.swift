import ConnectorTestSupport
import Foundation
import NIOHTTP1
import Testing

extension ChaosSuite {
    /// SPEC §15 with real processes: `okta-sim` and `okta-connector serve` over real sockets, a stream
    /// of signed hook deliveries sent by the test, kills and faults. Each scenario prints one line of
    /// figures. `CHAOS_SECONDS` (default 20) sets how long each one is faulted.
    @Suite("Chaos (SPEC §15)", .serialized, .timeLimit(.minutes(30)))
    struct ChaosTests {
        static var binariesBuilt: Bool {
            ["okta-connector", "okta-sim"].allSatisfy {
                FileManager.default.isExecutableFile(atPath: TestProcess.executable($0))
            }
        }

        /// A simulator, a serve process and its store for one scenario; everything stopped afterwards.
        func withServe(
            _ name: String, users: Int = 300, sink: ((TestDirectory) -> String)? = nil,
            _ body: (SimulatorProcess, ServeProcess, TestDirectory) async throws -> Void
        ) async throws {
            let directory = try TestDirectory("okta-chaos-\(name)")
            let simulator = try await SimulatorProcess(users: users, directory: directory)
            defer { simulator.process.stop() }
            let sinkYAML = sink?(directory) ?? "{ type: ndjson, path: \(directory.path("users.ndjson")) }"
            let serve = try ServeProcess(directory: directory, simulator: simulator, sink: sinkYAML)
            defer { serve.stop() }
            try await serve.start()
            do {
                try await body(simulator, serve, directory)
                directory.remove()
            } catch {
                print("chaos \(name): files kept in \(directory.url.path)")
                throw error
            }
        }

        /// Waits until every stored event is applied and the outbox is empty.
        func settled(_ store: StoreReader, timeout: TimeInterval = 120) async -> Bool {
            await eventually(timeout: timeout) {
                guard let inbox = try? store.inbox(), let depth = try? store.outboxDepth() else { return false }
                return inbox.unapplied == 0 && depth == 0
            }
        }

        @Test func kill9UnderADeliveryStreamLosesNoAcknowledgedEvent() async throws {
            guard Self.binariesBuilt else {
                Issue.record("okta-connector and okta-sim must be built")
                return
            }
            try await withServe("kill9") { simulator, serve, directory in
                let users = await simulator.userIds()
                let stream = HookStream(
                    url: serve.hookURL, secret: serve.secret, users: users, changingUsersIn: simulator.baseURL)
                let sending = Task { await stream.run() }
                var kills = 0
                let end = Date().addingTimeInterval(chaosSeconds)
                while Date() < end {
                    try await Task.sleep(for: .milliseconds(Int.random(in: 300...2500)))
                    serve.kill9()
                    kills += 1
                    try await serve.start()
                }
                sending.cancel()
                await sending.value
                // A changed user whose last delivery was refused (serve was down) is told about once more,
                // as Okta's retry would; the acknowledged uuids are checked separately below.
                let touchedUsers = Array(Set(stream.acknowledged.values))
                for start in stride(from: 0, to: touchedUsers.count, by: 10) {
                    let chunk = Array(touchedUsers[start..<min(start + 10, touchedUsers.count)])
                    _ = await HookStream(url: serve.hookURL, secret: serve.secret, users: chunk).deliver(about: chunk)
                }
                let store = StoreReader(path: serve.storePath)
                #expect(await settled(store), "inbox applied and outbox forwarded after the restarts")
                let acknowledged = stream.acknowledged
                let inbox = try store.inbox()
                let lost = acknowledged.keys.filter { !inbox.uuids.contains($0) }.count
                let sink = readSink(directory.path("users.ndjson"))
                // Every change forwarded: each touched user's last record carries its title in the org now.
                var unforwarded = 0
                for user in Set(acknowledged.values) where await simulator.title(of: user) != sink.titles[user] {
                    unforwarded += 1
                }
                let outOfOrder = sink.versions.values.filter { $0 != $0.sorted() }.count
                print(
                    "chaos kill9: \(kills) kills, \(acknowledged.count) events acknowledged, \(lost) lost, "
                        + "\(unforwarded) unforwarded, \(inbox.unapplied) unapplied, \(try store.outboxDepth()) in the outbox, "
                        + "\(outOfOrder) users with versions out of order in the sink, \(stream.failedCount) deliveries refused while down"
                )
                #expect(kills > 0)
                #expect(acknowledged.count > 0)
                #expect(lost == 0, "every acknowledged event is in the inbox")
                #expect(unforwarded == 0, "every touched user's latest change reached the sink")
                #expect(outOfOrder == 0, "per user, versions in order (re-sends of the same version allowed)")
                #expect(await serve.terminate() == 0)
            }
        }

        @Test func sinkDownThenBackDeliversEverythingInPerUserVersionOrder() async throws {
            guard Self.binariesBuilt else {
                Issue.record("okta-connector and okta-sim must be built")
                return
            }
            let sink = try await ChaosSink()
            try await withServe("sink-down", sink: { _ in sink.yaml }) { simulator, serve, _ in
                let store = StoreReader(path: serve.storePath)
                #expect(await settled(store), "the initial reconcile reached the sink")
                sink.set(.down)
                let users = await simulator.userIds()
                let stream = HookStream(url: serve.hookURL, secret: serve.secret, users: users)
                let sending = Task { await stream.run(senders: 2) }
                var peak = 0
                let end = Date().addingTimeInterval(chaosSeconds)
                while Date() < end {
                    try await Task.sleep(for: .milliseconds(500))
                    peak = max(peak, (try? store.outboxDepth()) ?? 0)
                }
                sending.cancel()
                await sending.value
                let acknowledgedWhileDown = stream.acknowledgedCount
                let refused = sink.refused
                let recovered = Date()
                sink.set(.up)
                #expect(await settled(store), "everything delivered after recovery")
                let drainSeconds = Date().timeIntervalSince(recovered)
                let records = sink.records
                var lastVersion: [String: Int64] = [:]
                var outOfOrder = 0
                for record in records {
                    if let last = lastVersion[record.key], record.version < last { outOfOrder += 1 }
                    lastVersion[record.key] = record.version
                }
                let missing = Set(stream.acknowledged.values).filter { lastVersion[$0] == nil }.count
                print(
                    "chaos sink-down: \(Int(chaosSeconds)) s down, \(acknowledgedWhileDown) events acknowledged while down, "
                        + "outbox peak \(peak), \(refused) batches refused, drained in \(String(format: "%.1f", drainSeconds)) s, "
                        + "\(records.count) records delivered, \(missing) users missing, \(outOfOrder) out of order")
                #expect(acknowledgedWhileDown > 0, "hooks still acknowledged while the sink is down")
                #expect(peak > 0, "the outbox grew")
                #expect(missing == 0)
                #expect(outOfOrder == 0, "in order per user")
                #expect(serve.isRunning)
            }
        }

        @Test func revokedTokenKeepsAcknowledgingWithFewOktaCallsAndRecovers() async throws {
            guard Self.binariesBuilt else {
                Issue.record("okta-connector and okta-sim must be built")
                return
            }
            try await withServe("token-revoked") { simulator, serve, _ in
                let store = StoreReader(path: serve.storePath)
                #expect(await settled(store), "the initial reconcile finished")
                let users = await simulator.userIds()
                let stream = HookStream(url: serve.hookURL, secret: serve.secret, users: users)
                _ = await call("\(simulator.baseURL)/sim/v1/faults/token-revocation", method: .PUT)
                let sending = Task {
                    // A steady stream, as Okta would send: a delivery every 200 ms.
                    while !Task.isCancelled {
                        await stream.deliver(count: 5)
                        try? await Task.sleep(for: .milliseconds(200))
                    }
                }
                // The first 10 s may see the calls that discover the revocation; then count.
                try await Task.sleep(for: .seconds(10))
                let before = await simulator.calls()
                let window = max(20, chaosSeconds)
                try await Task.sleep(for: .seconds(window))
                let after = await simulator.calls()
                let perMinute = Double(after.total - before.total) / window * 60
                let unauthorized = (after.byStatus["401"] ?? 0) - (before.byStatus["401"] ?? 0)
                let status = await serve.admin("/api/status")?.body ?? ""
                let visible =
                    status.contains("401") || status.lowercased().contains("unauthor")
                    || status.contains("E0000011") || status.contains("degraded")
                _ = await call("\(simulator.baseURL)/sim/v1/faults/token-revocation", method: .DELETE)
                sending.cancel()
                await sending.value
                let acknowledged = stream.acknowledgedCount
                let recovered = await settled(store, timeout: 180)
                print(
                    "chaos token-revoked: \(acknowledged) events acknowledged while revoked, "
                        + "\(String(format: "%.1f", perMinute)) Okta calls/min after the first 10 s (\(unauthorized) answered 401 in \(Int(window)) s), "
                        + "state visible in /api/status: \(visible), recovered: \(recovered)")
                #expect(acknowledged > 0, "deliveries still acknowledged")
                #expect(visible, "the state is visible in the admin status")
                #expect(recovered, "everything applied once Okta accepts again")
                #expect(perMinute <= 10, "at most a few Okta calls per minute while the token is revoked")
            }
        }

        @Test func oktaFaultStormsDuringAReconcileNeverRemoveAUserThatExists() async throws {
            guard Self.binariesBuilt else {
                Issue.record("okta-connector and okta-sim must be built")
                return
            }
            try await withServe("okta-storms", users: 600) { simulator, serve, directory in
                let store = StoreReader(path: serve.storePath)
                #expect(
                    await eventually(timeout: 120) { (try? store.lastRunOutcome()) == "succeeded" },
                    "the initial reconcile finished")
                let plans = [
                    #"{"serverErrorRate": 0.3}"#,
                    #"{"rateLimitStorm": 20, "serverErrors": 5}"#,
                    #"{"slowResponses": 10, "slowDelay": 2, "malformedPages": 2}"#,
                    #"{"repeatNextCursorFromPage": 2}"#,
                    #"{"droppedConnections": 5, "serverErrorRate": 0.1}"#,
                ]
                var runs = 0
                var outcomes: [String: Int] = [:]
                let end = Date().addingTimeInterval(chaosSeconds)
                var index = 0
                while Date() < end {
                    await simulator.faults(plans[index % plans.count])
                    index += 1
                    guard await serve.admin("/api/connectors/chaos-org/reconcile", method: .POST)?.status == 202 else {
                        try await Task.sleep(for: .milliseconds(500))
                        continue
                    }
                    runs += 1
                    _ = await eventually(timeout: max(5, end.timeIntervalSinceNow) + 30) {
                        guard let outcome = try? store.lastRunOutcome() else { return false }
                        return outcome != "running"
                    }
                    outcomes[(try? store.lastRunOutcome()) ?? "?", default: 0] += 1
                }
                await simulator.faults("{}")
                #expect(await settled(store))
                let sink = readSink(directory.path("users.ndjson"))
                var falseRemovals = 0
                for key in sink.deleted where await simulator.userIsPresent(key) == true { falseRemovals += 1 }
                print(
                    "chaos okta-storms: \(runs) reconciles under faults (\(outcomes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))), "
                        + "\(sink.deleted.count) deletes forwarded, \(falseRemovals) false removals")
                #expect(runs > 0, "reconciles ran under faults")
                #expect(falseRemovals == 0, "never a false removal")
                #expect(serve.isRunning)
            }
        }

        @Test func hostileRetryAfterAndDateFromTheSinkDoNotStopTheProcess() async throws {
            guard Self.binariesBuilt else {
                Issue.record("okta-connector and okta-sim must be built")
                return
            }
            let sink = try await ChaosSink()
            sink.set(.hostile)
            try await withServe("hostile-sink", users: 100, sink: { _ in sink.yaml }) { simulator, serve, _ in
                let users = await simulator.userIds()
                let stream = HookStream(url: serve.hookURL, secret: serve.secret, users: users)
                let sending = Task { await stream.run(senders: 1, eventsPerDelivery: 5) }
                let end = Date().addingTimeInterval(min(chaosSeconds, 30))
                var healthy = true
                while Date() < end {
                    try await Task.sleep(for: .milliseconds(500))
                    healthy = healthy && serve.isRunning
                }
                sending.cancel()
                await sending.value
                let answers = sink.hostileAnswers
                let alive = serve.isRunning
                let healthz = await call("http://127.0.0.1:\(serve.adminPort)/healthz")?.status
                sink.set(.up)
                let store = StoreReader(path: serve.storePath)
                // A hostile Retry-After may legitimately push the next attempt out; recovery is reported, not required.
                let delivered = await settled(store, timeout: 30)
                print(
                    "chaos hostile-sink: \(answers) hostile answers, process running: \(alive && healthy), "
                        + "healthz \(healthz.map(String.init) ?? "none"), delivered within 30 s of recovery: \(delivered)"
                )
                #expect(answers > 0, "the sink answered hostile headers")
                #expect(alive && healthy, "the process keeps running")
                #expect(healthz == 200)
            }
        }
    }
}
