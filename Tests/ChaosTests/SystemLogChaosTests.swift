import AsyncHTTPClient
import ConnectorDomain
import ConnectorTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

extension ChaosSuite {
    /// SPEC §17 with real processes: `okta-connector serve` polling `okta-sim`'s System Log (no event
    /// hook), killed with SIGKILL at random moments while the org changes.
    @Suite("Chaos: System Log polling (SPEC §15, §17)", .serialized, .timeLimit(.minutes(10)))
    struct SystemLogChaosTests {
        /// Every event of the simulator's System Log published since a time: a bounded query, page by page.
        func logEvents(_ simulator: SimulatorProcess, since: Date) async -> [JSONValue]? {
            let until = Timestamp(Date().addingTimeInterval(60)).iso8601
            var url: String? =
                "\(simulator.baseURL)/api/v1/logs?since=\(Timestamp(since).iso8601)&until=\(until)&limit=1000"
            var events: [JSONValue] = []
            while let current = url {
                var request = HTTPClientRequest(url: current)
                request.headers.add(name: "Authorization", value: "SSWS sim-api-token")
                guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(10)),
                    response.status == .ok, let body = try? await response.body.collect(upTo: 64 << 20),
                    case .array(let page)? = try? JSONCoding.decode(JSONValue.self, from: String(buffer: body))
                else { return nil }
                events += page
                url = nil
                for value in response.headers["Link"] where value.contains("rel=\"next\"") {
                    if let open = value.firstIndex(of: "<"), let close = value.firstIndex(of: ">") {
                        url = String(value[value.index(after: open)..<close])
                    }
                }
            }
            return events
        }

        @Test func kill9WhilePollingLosesNoEventAndForwardsEveryChange() async throws {
            guard ChaosTests.binariesBuilt else {
                Issue.record("okta-connector and okta-sim must be built")
                return
            }
            let directory = try TestDirectory("okta-chaos-polling")
            let simulator = try await SimulatorProcess(users: 300, directory: directory)
            defer { simulator.process.stop() }
            let serve = try ServeProcess(
                directory: directory, simulator: simulator,
                sink: "{ type: ndjson, path: \(directory.path("users.ndjson")) }",
                connectorOptions: ["event_source: system_log", "system_log: { interval: 1s }"])
            defer { serve.stop() }
            try await serve.start()
            let store = StoreReader(path: serve.storePath)
            #expect(await eventually(timeout: 60) { (try? store.lastRunOutcome()) == "succeeded" })

            let since = Date().addingTimeInterval(-5)
            _ = await call(
                "\(simulator.baseURL)/sim/v1/churn", method: .POST,
                body: #"{"perSecond": 20, "seconds": \#(chaosSeconds)}"#)
            var kills = 0
            let end = Date().addingTimeInterval(chaosSeconds)
            while Date() < end {
                try await Task.sleep(for: .milliseconds(Int.random(in: 300...2500)))
                serve.kill9()
                kills += 1
                try await serve.start()
            }
            try await Task.sleep(for: .seconds(1))
            _ = await call("\(simulator.baseURL)/sim/v1/churn", method: .DELETE)
            let events = try #require(await logEvents(simulator, since: since))
            let uuids = Set(events.compactMap { $0["uuid"]?.stringValue })
            // Every event Okta logged reaches the inbox through polling alone, across the kills.
            let arrived = await eventually(timeout: 60) {
                guard let inbox = try? store.inbox() else { return false }
                return uuids.isSubset(of: inbox.uuids)
            }
            let inbox = try store.inbox()
            let lost = uuids.subtracting(inbox.uuids).count
            let settled = await eventually(timeout: 120) {
                guard let inbox = try? store.inbox(), let depth = try? store.outboxDepth() else { return false }
                return inbox.unapplied == 0 && depth == 0
            }
            // Every profile change forwarded: each changed user still in the org has its title in the sink.
            let sink = readSink(directory.path("users.ndjson"))
            var changed: Set<String> = []
            for event in events where event["eventType"]?.stringValue == "user.account.update_profile" {
                if case .array(let targets)? = event["target"], let id = targets.first?["id"]?.stringValue {
                    changed.insert(id)
                }
            }
            var unforwarded = 0
            for user in changed where await simulator.userIsPresent(user) == true {
                if await simulator.title(of: user) != sink.titles[user] { unforwarded += 1 }
            }
            let outOfOrder = sink.versions.values.filter { $0 != $0.sorted() }.count
            print(
                "chaos polling: \(kills) kills, \(uuids.count) events logged, \(lost) lost, "
                    + "\(changed.count) users changed, \(unforwarded) unforwarded, "
                    + "\(outOfOrder) users with versions out of order in the sink")
            #expect(kills > 0)
            #expect(!uuids.isEmpty)
            #expect(arrived && lost == 0, "every logged event is in the inbox")
            #expect(settled, "inbox applied and outbox forwarded after the kills")
            #expect(unforwarded == 0)
            #expect(outOfOrder == 0)
            #expect(await serve.terminate() == 0)
            directory.remove()
        }
    }
}
