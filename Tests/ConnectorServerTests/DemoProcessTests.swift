import ConnectorTestSupport
import Foundation
import Testing

/// `okta-connector demo` as a newcomer runs it: after "5. Now changing the simulated org" it shows
/// the live changes, not the initial reconcile's records one by one.
@Suite("The demo's walkthrough", .serialized, .timeLimit(.minutes(4)))
struct DemoProcessTests {
    @Test func theInitialRecordsAreCountedAndOnlyTheChangesArePrinted() async throws {
        let directory = try TestDirectory("okta-demo-changes")
        defer { directory.remove() }
        let seconds = 10
        let demo = try await TestProcess.run(
            TestProcess.executable("okta-connector"),
            arguments: [
                "demo", "--users", "2000", "--changes", "1", "--seconds", "\(seconds)", "--directory",
                directory.path("demo"),
            ],
            log: directory.path("demo.log"), timeout: 180)
        #expect(demo.status == 0, "\(demo.output.suffix(3000))")
        let lines = demo.output.split(separator: "\n").map(String.init)
        // "run 1 succeeded: 1850 users listed, 1850 records created, …"
        let created = lines.first { $0.contains("records created") }.flatMap { line -> Int? in
            line.components(separatedBy: ", ").first { $0.hasSuffix("records created") }?.split(separator: " ")
                .first.flatMap { Int($0) }
        }
        let initial = lines.first { $0.contains("records of the initial reconcile reached the sink") }
        #expect(created != nil && initial != nil, "\(demo.output.prefix(3000))")
        if let created, let initial {
            #expect(initial.trimmingCharacters(in: .whitespaces).hasPrefix("\(created) records"), "\(initial)")
        }
        // Each printed record is a change made at 1 a second for 10 seconds (a change can touch a
        // user twice, and a few arrive late): tens at most, not the thousands of the initial run.
        let step5 = lines.firstIndex { $0.hasPrefix("5. Now changing") } ?? lines.count
        let printed = lines[step5...].filter { $0.hasPrefix("   → ") }
        print("demo: \(created ?? -1) initial records counted, \(printed.count) changes printed in \(seconds) s")
        #expect(printed.count <= 3 * seconds, "only the changes: \(printed.prefix(5))")
    }
}
