import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import NeuronsSinks
import SQLiteStore
import Testing

@Suite("CSV snapshots for the Neurons CSV connector (SPEC §9)", .timeLimit(.minutes(3)))
struct CSVSnapshotTests {
    /// Parses a CSV file with Python's `csv` module, a standard parser independent of ours.
    func parseWithPython(_ path: String, delimiter: Character) async throws -> [[String: String]] {
        let script = """
            import csv, json, sys
            with open(sys.argv[1], newline='', encoding='utf-8') as f:
                print(json.dumps(list(csv.DictReader(f, delimiter=sys.argv[2])), ensure_ascii=False))
            """
        let (status, output) = try await TestProcess.run(
            "/usr/bin/env", arguments: ["python3", "-c", script, path, String(delimiter)], log: path + ".parsed.json",
            timeout: 60)
        #expect(status == 0)
        return try JSONDecoder().decode([[String: String]].self, from: Data(output.utf8))
    }

    @Test(arguments: [Character(","), Character(";")])
    func snapshotsParseBackToExactlyTheStoredRecords(_ delimiter: Character) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("okta-csv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStateStore(path: directory.appendingPathComponent("state.db").path)
        let users: [(String, [String: JSONValue])] = [
            ("00u1", ["firstName": "Zoë", "lastName": "Ångström, \"the\" 王", "title": "Line one\nline two; three"]),
            (
                "00u2",
                [
                    "firstName": " padded ", "lastName": "Plain", "badge": ["floor": 3, "wing": "東"],
                    "skills": ["a", "b"],
                ]
            ),
        ]
        var changes: [UserChange] = []
        for (id, profile) in users {
            var withLogin = profile
            withLogin["login"] = .string("\(id)@example.com")
            let snapshot = UserSnapshot(
                user: OktaUser(
                    id: id, status: "ACTIVE", lastUpdated: Timestamp.parse("2026-06-01T10:00:00.123Z"),
                    profile: withLogin),
                apps: [
                    AssignedApp(appName: "box", label: "Box; Files", instanceId: "0oa1"),
                    AssignedApp(appName: "slack", label: "Slack", instanceId: "0oa2"),
                ], devices: [])
            changes.append(.upsert(snapshot: snapshot, record: UserMapper().record(for: snapshot)))
        }
        _ = try await store.commit(UserWriteBatch(connector: "c", changes: changes, at: Timestamp(Date())))
        let tracker = CSVChangeTracker()
        let snapshots = CSVSnapshots(
            connector: "c", store: store,
            writer: CSVSnapshotWriter(
                directory: directory.appendingPathComponent("csv").path, delimiter: delimiter, keep: 2, prefix: "c"),
            tracker: tracker, interval: 900, clock: SystemWallClock(), logger: quietLogger)
        let file = try await snapshots.writeNow()
        let rows = try await parseWithPython(file, delimiter: delimiter)
        #expect(rows.count == 2)
        for (index, change) in changes.enumerated() {
            guard case .upsert(_, let record) = change else { continue }
            let expected = CSVSnapshotWriter.flatten(record.attributes)
            let row = rows[index].filter { !$0.value.isEmpty }
            #expect(row == expected.filter { !$0.value.isEmpty }, "row \(index)")
        }
        #expect(rows[0]["User.LastName"] == "Ångström, \"the\" 王")
        #expect(rows[0]["User.JobTitle"] == "Line one\nline two; three")
        #expect(rows[0]["User.AssignedApps.AppLabel"] == #"Box\; Files;Slack"#, "the separator in an item is escaped")
        #expect(CSVSnapshotWriter.listItems(rows[0]["User.AssignedApps.AppLabel"] ?? "") == ["Box; Files", "Slack"])
        #expect(rows[0]["User.AssignedApps.AppInstanceId"] == "0oa1;0oa2")
        #expect(rows[0]["User.LastUpdated"] == "2026-06-01T10:00:00.123Z")
        #expect(rows[1]["User.FirstName"] == " padded ")
        #expect(rows[1]["Application.Okta.Profile.badge.wing"] == "東")
        #expect(rows[1]["Application.Okta.Profile.skills"] == "a;b")
    }

    static let trickyLists: [[String]] = [
        ["a;b", "c"], [#"back\slash"#, #"\;"#, ";", "plain"], ["", "middle", ""], [#"ends\"#, #";starts"#],
        ["Box; Files", "=cmd;x", "東;京"], ["one"],
    ]

    @Test(arguments: [Character(","), Character(";")])
    func listCellsReadBackToExactlyTheirItems(_ delimiter: Character) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("okta-csv-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let writer = CSVSnapshotWriter(directory: directory.path, delimiter: delimiter, keep: 2, prefix: "org")
        let records = Self.trickyLists.enumerated().map { index, items in
            let list = "[" + items.map { CanonicalJSON.string(.string($0)) }.joined(separator: ",") + "]"
            let apps =
                "[" + items.map { #"{"AppLabel":"# + CanonicalJSON.string(.string($0)) + "}" }.joined(separator: ",")
                + "]"
            return (key: "00u\(index)", attributesJSON: #"{"User.Skills":\#(list),"User.AssignedApps":\#(apps)}"#)
        }
        let file = try await writer.write(at: Date()) {
            AsyncThrowingStream { continuation in
                continuation.yield(records)
                continuation.finish()
            }
        }
        let rows = try await parseWithPython(file, delimiter: delimiter)
        #expect(rows.count == Self.trickyLists.count)
        for (row, items) in zip(rows, Self.trickyLists) {
            #expect(CSVSnapshotWriter.listItems(row["User.Skills"] ?? "") == items, "\(row)")
            #expect(CSVSnapshotWriter.listItems(row["User.AssignedApps.AppLabel"] ?? "") == items, "\(row)")
        }
    }

    @Test func onlyTheNewestSnapshotsAreKeptAndNoPartialFileRemains() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("okta-csv-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let writer = CSVSnapshotWriter(directory: directory.path, delimiter: ",", keep: 2, prefix: "org")
        for second in 0..<4 {
            _ = try await writer.write(at: Date(timeIntervalSince1970: 1_780_000_000 + Double(second))) {
                AsyncThrowingStream { continuation in
                    continuation.yield([
                        (key: "00u\(second)", attributesJSON: #"{"Application.Okta.UserId":"00u\#(second)"}"#)
                    ])
                    continuation.finish()
                }
            }
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(files.count == 2)
        #expect(files.allSatisfy { $0.hasPrefix("org-") && $0.hasSuffix(".csv") })
        #expect(
            try String(contentsOfFile: directory.appendingPathComponent(files[0]).path, encoding: .utf8)
                == "Application.Okta.UserId\r\n00u2\r\n", "the two newest are kept")
        #expect(
            try String(contentsOfFile: directory.appendingPathComponent(files.last!).path, encoding: .utf8)
                == "Application.Okta.UserId\r\n00u3\r\n")
    }

    @Test func realTimeChangesMarkASnapshotDue() async throws {
        let tracker = CSVChangeTracker()
        #expect(!tracker.takeDirty())
        try await tracker.deliver(
            SinkBatch(
                connector: "c", batchId: "b",
                records: [SinkRecord(operation: "upsert", key: "00u1", version: 1, attributesJSON: "{}")]))
        #expect(tracker.takeDirty())
        #expect(!tracker.takeDirty())
    }
}
