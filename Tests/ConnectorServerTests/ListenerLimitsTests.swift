import AsyncHTTPClient
import ConnectorConfiguration
import ConnectorServer
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import OktaSimulator
import Testing

/// The listener's defences against slow and greedy clients (SPEC §4, §12), driven over raw sockets.
@Suite("Hook listener limits", .serialized, .timeLimit(.minutes(5)))
struct ListenerLimitsTests {
    static let path = "/hooks/okta/test-org"

    func post(_ body: String, secret: String = "hook-secret-1", keepAlive: Bool = true) -> String {
        RawSocket.request(
            "POST", Self.path, headers: [("Authorization", secret), ("Content-Type", "application/json")], body: body,
            keepAlive: keepAlive)
    }

    @Test func aWrongSecretIsAnsweredWithoutReadingTheBodyAndTheConnectionClosed() async throws {
        let harness = try await ReceiverHarness(connectors: [connectorSettings()], tls: false)
        defer { Task { await harness.stop() } }
        let socket = try RawSocket(port: harness.port)
        defer { socket.close() }
        // Headers announcing a megabyte that never comes.
        socket.send(
            "POST \(Self.path) HTTP/1.1\r\nHost: localhost\r\nAuthorization: wrong\r\n"
                + "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{\"eventType\":")
        let answer = await socket.read(timeout: 20)
        #expect(answer.text.hasPrefix("HTTP/1.1 401"), "\(answer.text)")
        #expect(answer.closed, "the connection is closed after the answer")
        #expect(try await harness.inboxDepth() == 0)
    }

    @Test func aTrickledRequestIsAnswered408AtItsDeadline() async throws {
        let harness = try await ReceiverHarness(
            connectors: [connectorSettings()], tls: false, limits: ListenerLimits(requestDeadline: 1))
        defer { Task { await harness.stop() } }
        // Headers one byte every 100 ms: an idle timer would never fire, the deadline does.
        let headers = Array(
            post(delivery([logEvent("user.lifecycle.create", user: "00u1")])).utf8.map { String(UnicodeScalar($0)) })
        // Timed from before the connection: the server's deadline may start at its accept.
        let started = Date()
        let socket = try RawSocket(port: harness.port)
        defer { socket.close() }
        var answer = (text: "", closed: false)
        for byte in headers.prefix(40) {
            socket.send(byte)
            answer = await socket.read(timeout: 0.1)
            if !answer.text.isEmpty || answer.closed { break }
        }
        if answer.text.isEmpty { answer = await socket.read(timeout: 8) }
        let elapsed = Date().timeIntervalSince(started)
        #expect(answer.text.hasPrefix("HTTP/1.1 408"), "\(answer.text)")
        // The trickle lasts 4 s: an answer before it ends is the 1 s deadline's (loose for load).
        #expect(elapsed > 0.9 && elapsed < 3.9, "answered at the deadline, after \(elapsed) s")

        // A body that stalls after complete headers: 408 too, nothing stored.
        let second = try RawSocket(port: harness.port)
        defer { second.close() }
        let full = post(delivery([logEvent("user.lifecycle.create", user: "00u1")]))
        second.send(String(full.dropLast(10)))
        let stalled = await second.read(timeout: 20)
        #expect(stalled.text.hasPrefix("HTTP/1.1 408"), "\(stalled.text)")
        let closedLater = stalled.closed ? true : await second.read(timeout: 1).closed
        #expect(closedLater)
        #expect(try await harness.inboxDepth() == 0)

        // A connection that never sends anything is closed at the deadline, without an answer.
        let silent = try RawSocket(port: harness.port)
        defer { silent.close() }
        let nothing = await silent.read(timeout: 8)
        #expect(nothing.closed && nothing.text.isEmpty)
    }

    @Test func keptAliveConnectionsAreClosedWhenIdle() async throws {
        let harness = try await ReceiverHarness(
            connectors: [connectorSettings()], tls: false, limits: ListenerLimits(requestDeadline: 5, idleTimeout: 1))
        defer { Task { await harness.stop() } }
        let socket = try RawSocket(port: harness.port)
        defer { socket.close() }
        socket.send(post(delivery([logEvent("user.lifecycle.create", user: "00u1")])))
        let answer = await socket.read(timeout: 20, until: "\r\n\r\n")
        #expect(answer.text.hasPrefix("HTTP/1.1 200"), "\(answer.text)")
        let started = Date()
        let idle = await socket.read(timeout: 5)
        #expect(idle.closed)
        // Closed by the 1 s idle timer, well before the 5 s request deadline (loose for load).
        #expect(Date().timeIntervalSince(started) < 4.5)
    }

    @Test func connectionsBeyondTheCapWaitWithoutHurtingThoseServed() async throws {
        let harness = try await ReceiverHarness(
            connectors: [connectorSettings()], tls: false, limits: ListenerLimits(maxConnections: 3, requestDeadline: 8)
        )
        defer { Task { await harness.stop() } }
        // A verification request on each of three kept-alive connections: all three are accepted.
        let verification = RawSocket.request(
            "GET", Self.path, headers: [("x-okta-verification-challenge", "c"), ("Authorization", "hook-secret-1")])
        let held = try (0..<3).map { _ in try RawSocket(port: harness.port) }
        defer { held.forEach { $0.close() } }
        for socket in held {
            socket.send(verification)
            #expect(await socket.read(timeout: 20, until: #"{"verification":"c"}"#).text.hasPrefix("HTTP/1.1 200"))
        }
        // The fourth connects at the kernel level but is not accepted while the three stay open.
        let extra = try RawSocket(port: harness.port)
        defer { extra.close() }
        extra.send(post(delivery([logEvent("user.lifecycle.create", user: "00u2")])))
        // One already being served still gets a delivery acknowledged, sent after the fourth's: the
        // fourth has had no answer by then (its request would have been served first otherwise).
        held[0].send(post(delivery([logEvent("user.lifecycle.create", user: "00u1")])))
        #expect(await held[0].read(timeout: 20, until: "\r\n\r\n").text.hasPrefix("HTTP/1.1 200"))
        #expect(extra.readNow().text.isEmpty, "not served while the cap is reached")
        #expect(try await harness.inboxDepth() == 1)
        // When one closes, the waiting one is accepted and served.
        held[1].close()
        #expect(await extra.read(timeout: 20, until: "\r\n\r\n").text.hasPrefix("HTTP/1.1 200"))
        #expect(try await harness.inboxDepth() == 2)
    }

    @Test func slowClientsCannotDelayARealDelivery() async throws {
        let fileLimit = raiseOpenFileLimit(to: 10_000)
        // Each slow client costs two descriptors here (its end and the listener's).
        let slowCount = min(2_000, (fileLimit - 200) / 2)
        let harness = try await ReceiverHarness(
            connectors: [connectorSettings()], tls: false, limits: ListenerLimits(requestDeadline: 10))
        defer { Task { await harness.stop() } }
        func latencies(_ count: Int) async throws -> [Double] {
            var values: [Double] = []
            for index in 0..<count {
                let started = ContinuousClock.now
                let answer = try await harness.deliver(
                    delivery([logEvent("user.lifecycle.create", user: "00u\(index)")]))
                #expect(answer.status == 200)
                let elapsed = ContinuousClock.now - started
                values.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
            }
            return values.sorted()
        }
        func percentile(_ values: [Double], _ share: Double) -> Double {
            values[min(values.count - 1, Int(Double(values.count) * share))]
        }
        let baseline = try await latencies(50)

        // Half idle after a partial request line, half trickling header bytes.
        var slow: [RawSocket] = []
        defer { slow.forEach { $0.close() } }
        for index in 0..<slowCount {
            let socket = try RawSocket(port: harness.port)
            socket.send(index % 2 == 0 ? "POST \(Self.path) HTTP/1.1\r\n" : "POST \(Self.path) HTTP/1.1\r\nX-Slow: ")
            slow.append(socket)
        }
        let trickled = slow
        let trickling = Task.detached {
            while !Task.isCancelled {
                for (index, socket) in trickled.enumerated() where index % 2 == 1 { socket.send("a") }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        defer { trickling.cancel() }
        try await Task.sleep(for: .milliseconds(500))
        let underLoad = try await latencies(50)
        trickling.cancel()
        print(
            """
            slow-client test: \(slowCount) slow clients (half idle, half trickling a byte per 200 ms); \
            delivery latency p50 \(String(format: "%.2f", percentile(baseline, 0.5))) ms, \
            p99 \(String(format: "%.2f", percentile(baseline, 0.99))) ms without them; \
            p50 \(String(format: "%.2f", percentile(underLoad, 0.5))) ms, \
            p99 \(String(format: "%.2f", percentile(underLoad, 0.99))) ms with them
            """)
        // Okta gives up after 3 s: every delivery is answered well within it (measured p99 is a few
        // ms; the bound leaves room for a loaded machine, where one stall is the p99 of 50).
        #expect(percentile(underLoad, 0.99) < 2000)
        #expect(try await harness.inboxDepth() == 100)
        // The slow ones are never served: held open until their 10 s deadline, then answered
        // `408` (on a loaded machine the two measurements above can outlast the deadline).
        let answers = slow.prefix(10).map { $0.readNow().text }
        #expect(
            answers.allSatisfy { $0.isEmpty || $0.hasPrefix("HTTP/1.1 408") },
            "slow clients answered: \(answers.filter { !$0.isEmpty }.map { $0.prefix(40) })")
    }

    @Test func theListenerOffersOnlyForwardSecretSuites() async throws {
        let harness = try await ReceiverHarness(connectors: [connectorSettings()])
        defer { Task { await harness.stop() } }
        func handshake(_ configure: (inout TLSConfiguration) -> Void) async -> Bool {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.additionalTrustRoots = [
                .certificates(
                    (try? NIOSSLCertificate.fromPEMBytes(Array(harness.certificate.certificatePEM.utf8))) ?? [])
            ]
            configure(&tls)
            let client = HTTPClient(
                eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(tlsConfiguration: tls))
            var request = HTTPClientRequest(url: harness.url(Self.path))
            request.headers.add(name: "x-okta-verification-challenge", value: "c")
            request.headers.add(name: "Authorization", value: "hook-secret-1")
            let status = try? await client.execute(request, timeout: .seconds(10)).status.code
            try? await client.shutdown()
            return status == 200
        }
        #expect(await handshake { _ in }, "TLS 1.3")
        #expect(await handshake { $0.maximumTLSVersion = .tlsv12 }, "TLS 1.2 with ECDHE")
        #expect(!(await handshake { $0.maximumTLSVersion = .tlsv11 }), "TLS 1.1 refused")
        #expect(
            !(await handshake {
                $0.maximumTLSVersion = .tlsv12
                $0.cipherSuiteValues = [.TLS_RSA_WITH_AES_128_GCM_SHA256, .TLS_RSA_WITH_AES_256_CBC_SHA]
            }), "static RSA key exchange refused")
        #expect(Set(HookListener.tls12CipherSuites.map(\.rawValue)).allSatisfy { $0 >= 0xC000 }, "ECDHE only")
    }
}
