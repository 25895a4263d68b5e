import ArgumentParser
import AsyncHTTPClient
import ConnectorDomain
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import OktaSimulator

/// How fast the simulator starts and lists users, so that it never is the bottleneck of the
/// connector's benchmarks. Baseline: generating and serialising the same users in-process, without HTTP.
struct SimulatorBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulator",
        abstract: "Simulator start-up, memory and list-all-users throughput (rate limits off).")

    @Option(help: "Org sizes to measure.") var users: [Int] = [100_000, 1_000_000]
    @Flag(help: "Also decode every page into OktaUser, as the connector does.") var decode = false

    func run() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        print("simulator benchmark (rate limits off, loopback HTTP, limit=200)")
        print(
            "users      start(ms)  RSS after start(MiB)  list-all(s)  users/s   pages  baseline users/s  ratio  peak RSS(MiB)"
        )
        for count in users {
            var options = SimulatorOptions()
            options.users = count
            options.rateLimits = nil
            options.logger.logLevel = .critical
            let started = ContinuousClock.now
            let simulator = try await OktaSimulator.start(options)
            let startup = ContinuousClock.now - started
            let rssAfterStart = ProcessMemory.residentMiB

            // Baseline: the simulator's own cost of producing the users, without HTTP.
            let baselineStarted = ContinuousClock.now
            var produced = 0
            var next: Int? = 0
            while let from = next {
                let page = simulator.org.users(from: from, limit: 200, status: { $0 != .deprovisioned })
                produced += page.users.count
                next = page.next
            }
            let baselineSeconds = (ContinuousClock.now - baselineStarted).seconds

            let listStarted = ContinuousClock.now
            var url: String? = "\(simulator.baseURL)/api/v1/users?limit=200"
            var listed = 0
            var pages = 0
            while let current = url {
                var request = HTTPClientRequest(url: current)
                request.headers.add(name: "Authorization", value: "SSWS sim-api-token")
                let response = try await client.execute(request, timeout: .seconds(60))
                let body = try await response.body.collect(upTo: 64 << 20)
                if decode {
                    listed += try JSONCoding.decoder().decode([OktaUser].self, from: Data(body.readableBytesView)).count
                } else {
                    listed += countUsers(body)
                }
                pages += 1
                url = nextLink(response.headers)
            }
            let listSeconds = (ContinuousClock.now - listStarted).seconds
            let rate = Double(listed) / listSeconds
            let baselineRate = Double(produced) / baselineSeconds
            print(
                "\(String(count).padding(toLength: 10, withPad: " ", startingAt: 0)) "
                    + "\(format(startup.seconds * 1000, 1).leftPad(9))  \(format(rssAfterStart).leftPad(20))  "
                    + "\(format(listSeconds, 2).leftPad(11))  \(format(rate, 0).leftPad(7))  \(String(pages).leftPad(6))  "
                    + "\(format(baselineRate, 0).leftPad(16))  \(format(rate / baselineRate, 2).leftPad(5))  "
                    + "\(format(ProcessMemory.peakMiB).leftPad(13))")
            if listed != produced { print("  WARNING: listed \(listed) users over HTTP but the org has \(produced)") }
            await simulator.stop()
        }
        try await client.shutdown()
    }

    /// Users in a page without decoding it: top-level objects of the JSON array.
    func countUsers(_ buffer: ByteBuffer) -> Int {
        var depth = 0
        var count = 0
        var inString = false
        var escaped = false
        for byte in buffer.readableBytesView {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == 92 {
                    escaped = true
                } else if byte == 34 {
                    inString = false
                }
                continue
            }
            switch byte {
            case 34: inString = true
            case 123, 91:
                if byte == 123 && depth == 1 { count += 1 }
                depth += 1
            case 125, 93: depth -= 1
            default: break
            }
        }
        return count
    }

    func nextLink(_ headers: HTTPHeaders) -> String? {
        for value in headers["link"] where value.contains("rel=\"next\"") {
            guard let start = value.firstIndex(of: "<"), let end = value.firstIndex(of: ">") else { continue }
            return String(value[value.index(after: start)..<end])
        }
        return nil
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
