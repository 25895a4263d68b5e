import ConnectorDomain
import ConnectorTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import ConnectorServer

/// Guessing the admin token (SPEC §12): through the sign-in form with slow bodies, through bearer
/// requests, and with a `next` that leads to another site. Over real sockets where the attack is.
@Suite("Admin token guesses (SPEC §12)", .serialized, .timeLimit(.minutes(3)))
struct AdminTokenGuessTests {
    /// The request head of a sign-in whose body is still to come.
    static func slowSignInHead(port: Int, bodyLength: Int) -> String {
        "POST /sign-in HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
            + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(bodyLength)\r\n\r\n"
    }

    @Test func slowSignInsInFlightAreCountedAgainstTheLimitBeforeTheirBodyArrives() async throws {
        let serve = try await ServeHarness(users: 5)
        let browser = ConsoleBrowser(base: "http://127.0.0.1:\(serve.adminPort)")
        let body = "token=guess-number-00&next=%2F"
        let sockets = try (0..<30).map { _ in try RawSocket(port: serve.adminPort) }
        defer {
            for socket in sockets { socket.close() }
            Task {
                await browser.shutdown()
                await serve.stop()
            }
        }
        for socket in sockets {
            #expect(socket.send(Self.slowSignInHead(port: serve.adminPort, bodyLength: body.utf8.count)))
        }

        // Ten are admitted and wait for their body; the twenty others are refused at once.
        let answers = Mutex([String](repeating: "", count: sockets.count))
        let refusedAtOnce = await eventually(timeout: 20) {
            for (index, socket) in sockets.enumerated() {
                let read = socket.readNow()
                answers.withLock { $0[index] += read.text }
            }
            return answers.withLock { $0.filter { $0.hasPrefix("HTTP/1.1 429") }.count } == 20
        }
        #expect(
            refusedAtOnce, "20 of 30 refused before sending a body: \(answers.withLock { $0.map { $0.prefix(12) } })")
        let waiting = answers.withLock { answers in sockets.indices.filter { answers[$0].isEmpty } }
        #expect(waiting.count == 10, "ten checks, not thirty")

        // The ten bodies arrive: each is checked (a wrong token), and then the address is locked.
        for index in waiting { sockets[index].send(body) }
        for index in waiting {
            let answer = await sockets[index].read(timeout: 10, until: "\r\n\r\n")
            #expect(answer.text.hasPrefix("HTTP/1.1 401"), "\(answer.text.prefix(40))")
        }
        let locked = try await browser.signIn()
        #expect(locked.status == 429, "the right token too, while locked")
    }

    @Test func anAttemptThatNeverSendsItsBodyIsNotAFailureOnceItEnds() {
        let clock = ManualClock(now: Date(timeIntervalSince1970: 1_800_000_000))
        let throttle = SignInThrottle(limit: 3, window: 60, clock: clock)
        let attempts = (0..<3).map { _ in throttle.begin("10.0.0.1") }
        guard case .refused(let wait) = throttle.begin("10.0.0.1") else {
            Issue.record("a fourth attempt in flight is admitted")
            return
        }
        #expect(wait == 1, "only attempts in flight: soon")
        #expect(throttle.inFlight("10.0.0.1") == 3)
        attempts[0].failed()
        attempts[1].end()
        attempts[1].failed()  // after end: nothing
        attempts[2].end()
        #expect(throttle.inFlight("10.0.0.1") == 0)
        guard case .admitted(let next) = throttle.begin("10.0.0.1") else {
            Issue.record("refused although one failure and nothing in flight")
            return
        }
        next.failed()
        throttle.begin("10.0.0.1").failed()
        #expect(throttle.retryAfter("10.0.0.1") == 60, "three failures: locked for the window")
    }

    @Test func wrongBearerTokensAreThrottledPerAddressCountedAndAnsweredWithRetryAfter() async throws {
        let serve = try await ServeHarness(users: 5)
        defer { Task { await serve.stop() } }
        for attempt in 0..<10 {
            #expect(try await serve.get("/api/status", token: "guess-\(attempt)").status == 401)
        }
        let locked = try await serve.get("/api/status")
        #expect(locked.status == 429, "the right token too, for the rest of the minute")
        #expect(locked.body.contains("too many wrong admin tokens"))
        // Counted (read in-process: the address is locked out of /metrics now).
        let text = ConnectorMetrics.shared.text
        let line = text.split(separator: "\n").first {
            $0.hasPrefix("okta_connector_admin_token_refused_total{via=\"bearer\"}")
        }
        #expect(line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0 >= 10, "\(line ?? "none")")
    }

    @Test func wrongBearerTokensAreLoggedAtMostOnceAMinute() {
        let clock = ManualClock(now: Date(timeIntervalSince1970: 1_800_000_000))
        let logs = CapturedLogs()
        let wrong = WrongBearerTokens(clock: clock)
        for index in 0..<100 {
            wrong.refused("10.0.0.\(index % 3)", path: "/api/status", logger: logs.logger())
            clock.advance(by: 0.5)
        }
        // 50 s: one line, for the first.
        #expect(logs.all.count == 1)
        #expect(logs.all.first?.contains("refused_since_last_line=1") == true, "\(logs.all)")
        clock.advance(by: 10)
        wrong.refused("10.0.0.9", path: "/metrics", logger: logs.logger())
        #expect(logs.all.count == 2)
        #expect(logs.all.last?.contains("refused_since_last_line=100") == true, "\(logs.all)")
        #expect(logs.all.last?.contains("clients=10.0.0.1,10.0.0.2,10.0.0.0,10.0.0.9") == true, "\(logs.all)")
    }

    @Test(arguments: [
        "/\t/evil.example", "/\u{0B}/evil.example", "/\u{7F}x", "/\u{00}x", "/\u{0C}/evil.example", "/\r\n/x",
        "/\\evil.example", "/a\\b", "/ /evil.example", "https://evil.example/", "//evil.example/",
        "javascript:alert(1)", "/é", "/#x", "",
    ])
    func theSignInOnlyFollowsPathCharacters(_ next: String) {
        let followed = SignInRedirect.path(next)
        #expect(followed == "/", "\(next.debugDescription) → \(followed)")
    }

    @Test func theSignInFollowsPathsAndQueriesOfThisListener() {
        for next in ["/", "/connectors/test-org", "/connectors/test-org/runs/3?x=1&y=a%20b", "/a:b@c;d=e,f(g)*+!$'~"] {
            #expect(SignInRedirect.path(next) == next)
        }
    }

    @Test func aTabInNextIsNotFollowedOverHTTP() async throws {
        let serve = try await ServeHarness(users: 5)
        let browser = ConsoleBrowser(base: "http://127.0.0.1:\(serve.adminPort)")
        defer {
            Task {
                await browser.shutdown()
                await serve.stop()
            }
        }
        for next in ["/\t/evil.example", "/\u{0B}/evil.example", "/\\/evil.example"] {
            let answer = try await browser.signIn(next: next)
            #expect(answer.status == 303)
            #expect(answer.location == "/", "\(next.debugDescription) is not followed")
        }
    }
}
