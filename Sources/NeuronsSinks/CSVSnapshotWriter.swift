public import ConnectorDomain
public import Foundation

/// Writes complete snapshots of a connector's records as CSV files for the Neurons CSV connector,
/// which imports files from a folder (SPEC §9).
///
/// Columns are target attribute names. Nested objects become `Attribute.member` columns; lists of
/// values are joined with `;`; lists of objects become one column per member, each joining that
/// member's values with `;` in the same order (so `User.AssignedApps.AppName` and
/// `User.AssignedApps.AppInstanceId` line up). In such list cells each item is escaped so that the
/// list reads back exactly: `\` is written `\\` and `;` is written `\;` (``listItems(_:)`` reads a
/// list cell back); cells that are not lists are written as they are. Fields are quoted as RFC 4180 says (delimiter,
/// quote, line breaks). A file is written to a temporary name and renamed into place, so the
/// importer never sees half a file; only the newest `keep` files are kept.
///
/// Cells are written for people who open the file in a spreadsheet too: a cell that starts with
/// `=`, `+`, `-`, `@` (or their full-width forms, or any of them after white space), a tab or a
/// carriage return would be run as a formula there (OWASP's "CSV
/// injection"), so by default it gets a leading `'`, which spreadsheets show as text. The files are
/// created with ``PrivateFileAccess`` (`0600` by default), the temporary file too.
public struct CSVSnapshotWriter: Sendable {
    public let directory: String
    public let delimiter: Character
    public let keep: Int
    public let prefix: String
    /// Whether cells that a spreadsheet would run as formulas get a leading `'`.
    public let neutralizeFormulas: Bool
    /// The mode and group of the files written.
    public let access: PrivateFileAccess

    /// Creates a writer.
    /// - Parameters:
    ///   - directory: The folder the snapshots are written to.
    ///   - delimiter: The field delimiter.
    ///   - keep: How many of this writer's snapshots to keep.
    ///   - prefix: The connector's URL name, the first part of each file name.
    ///   - neutralizeFormulas: Whether cells that start like a formula get a leading `'`.
    ///   - access: The mode and group of the files written.
    public init(
        directory: String, delimiter: Character, keep: Int, prefix: String, neutralizeFormulas: Bool = true,
        access: PrivateFileAccess = .ownerOnly
    ) {
        self.directory = directory
        self.delimiter = delimiter
        self.keep = keep
        self.prefix = prefix
        self.neutralizeFormulas = neutralizeFormulas
        self.access = access
    }

    /// The characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection"),
    /// with their full-width (`＝＋－＠`) and small (`﹦﹢﹣﹫`) forms, which spreadsheets in East
    /// Asian locales fold to the ASCII ones when they read a cell.
    static let formulaStarts: Set<Unicode.Scalar> = [
        "=", "+", "-", "@", "\t", "\r", "\u{FF1D}", "\u{FF0B}", "\u{FF0D}", "\u{FF20}", "\u{FE66}", "\u{FE62}",
        "\u{FE63}", "\u{FE6B}",
    ]

    /// Whether a spreadsheet could read the text as a formula: it starts with a formula character,
    /// or with white space (which spreadsheets skip: ` =1+1` is a formula) and then one.
    /// - Parameter text: The cell's text.
    public static func startsLikeFormula(_ text: String) -> Bool {
        // Unicode scalars, not characters: "\r\n" is one Character but starts with a carriage return.
        guard
            let first = text.unicodeScalars.first(where: { formulaStarts.contains($0) || !$0.properties.isWhitespace })
        else { return false }
        return formulaStarts.contains(first)
    }

    /// A cell's text made safe to open in a spreadsheet: a leading `'` before a formula start.
    /// - Parameter text: The cell's text.
    /// - Returns: The text, with `'` in front when it starts with `=`, `+`, `-`, `@` (or their
    ///   full-width and small forms), a tab or a carriage return, after any white space.
    public static func neutralizingFormula(_ text: String) -> String {
        startsLikeFormula(text) ? "'" + text : text
    }

    /// The flat columns of one record: column name to text.
    public static func flatten(_ attributes: [String: JSONValue]) -> [String: String] {
        var columns: [String: String] = [:]
        func text(_ value: JSONValue) -> String? {
            switch value {
            case .null: return nil
            case .bool(let flag): return flag ? "true" : "false"
            case .integer(let number): return String(number)
            case .double(let number): return CanonicalJSON.string(.double(number))
            case .string(let string): return string
            case .array, .object: return CanonicalJSON.string(value)
            }
        }
        func add(_ name: String, _ value: JSONValue) {
            switch value {
            case .object(let members):
                for (key, member) in members { add("\(name).\(key)", member) }
            case .array(let items):
                let objects = items.compactMap { item -> [String: JSONValue]? in
                    if case .object(let members) = item { return members }
                    return nil
                }
                if !items.isEmpty, objects.count == items.count {
                    let keys = Set(objects.flatMap(\.keys)).sorted()
                    for key in keys {
                        columns["\(name).\(key)"] = objects.map { escapeListItem($0[key].flatMap(text) ?? "") }
                            .joined(separator: ";")
                    }
                } else {
                    columns[name] = items.compactMap(text).map(escapeListItem).joined(separator: ";")
                }
            default:
                if let string = text(value) { columns[name] = string }
            }
        }
        for (name, value) in attributes { add(name, value) }
        return columns
    }

    /// One item of a list cell: `\` becomes `\\` and `;` (the list separator) becomes `\;`.
    /// - Parameter item: The item's text.
    /// - Returns: The escaped text.
    public static func escapeListItem(_ item: String) -> String {
        // Unicode scalars, not characters: a combining mark after `;` makes one Character of both,
        // which a reader of bytes still splits at.
        guard item.unicodeScalars.contains(where: { $0 == ";" || $0 == "\\" }) else { return item }
        var escaped = String.UnicodeScalarView()
        for scalar in item.unicodeScalars {
            if scalar == "\\" || scalar == ";" { escaped.append("\\") }
            escaped.append(scalar)
        }
        return String(escaped)
    }

    /// Reads a list cell back into its items: splits at every `;` not escaped by `\`, and undoes the
    /// escaping of ``escapeListItem(_:)``. An empty cell is an empty list.
    /// - Parameter cell: The cell's text, as a CSV reader returns it.
    /// - Returns: The items.
    public static func listItems(_ cell: String) -> [String] {
        guard !cell.isEmpty else { return [] }
        var items: [String] = []
        var current = String.UnicodeScalarView()
        var escaping = false
        for scalar in cell.unicodeScalars {
            if escaping {
                current.append(scalar)
                escaping = false
            } else if scalar == "\\" {
                escaping = true
            } else if scalar == ";" {
                items.append(String(current))
                current = String.UnicodeScalarView()
            } else {
                current.append(scalar)
            }
        }
        items.append(String(current))
        return items
    }

    /// One data cell: neutralised when configured, then quoted as a field.
    /// - Parameter text: The cell's text.
    /// - Returns: The field as written to the file.
    public func cell(_ text: String) -> String {
        field(neutralizeFormulas ? Self.neutralizingFormula(text) : text)
    }

    /// One CSV field, quoted when it holds the delimiter, a quote, a line break or edge spaces.
    public func field(_ text: String) -> String {
        // Unicode scalars, not characters: `,` or `"` followed by a combining mark is one Character,
        // and "\r\n" is one too; a reader of bytes sees each scalar.
        let delimiterScalars = delimiter.unicodeScalars
        let scalars = text.unicodeScalars
        let needsQuotes =
            scalars.contains { $0 == "\"" || $0 == "\n" || $0 == "\r" || delimiterScalars.contains($0) }
            || scalars.first == " " || scalars.last == " "
        guard needsQuotes else { return text }
        var quoted = String.UnicodeScalarView()
        quoted.append("\"")
        for scalar in scalars {
            if scalar == "\"" { quoted.append("\"") }
            quoted.append(scalar)
        }
        quoted.append("\"")
        return String(quoted)
    }

    /// Writes a snapshot from pages of records (two passes: the columns, then the rows).
    /// - Parameters:
    ///   - pages: Produces the records page by page; called twice.
    ///   - at: The snapshot's time, in its file name.
    /// - Returns: The file written.
    public func write(
        at time: Date, pages: () async throws -> AsyncThrowingStream<[(key: String, attributesJSON: String)], any Error>
    ) async throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var columns: Set<String> = []
        for try await page in try await pages() {
            for record in page { columns.formUnion(Self.flatten(try Self.attributes(record.attributesJSON)).keys) }
        }
        // Application.Okta.UserId first (the key), then the rest by name.
        let ordered = ["Application.Okta.UserId"] + columns.subtracting(["Application.Okta.UserId"]).sorted()
        let stamp = Timestamp(time).iso8601.replacingOccurrences(of: ":", with: "").replacingOccurrences(
            of: "-", with: "")
        let name = "\(prefix)-\(stamp).csv"
        let temporary = (directory as NSString).appendingPathComponent(".\(name).partial")
        let final = (directory as NSString).appendingPathComponent(name)
        // A leftover temporary file from a crash is started afresh, with this access.
        try? FileManager.default.removeItem(atPath: temporary)
        try access.create(temporary)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
        do {
            let separator = String(delimiter)
            try handle.write(contentsOf: Data((ordered.map(field).joined(separator: separator) + "\r\n").utf8))
            for try await page in try await pages() {
                var chunk = ""
                for record in page {
                    var flat = Self.flatten(try Self.attributes(record.attributesJSON))
                    flat["Application.Okta.UserId"] = flat["Application.Okta.UserId"] ?? record.key
                    chunk += ordered.map { cell(flat[$0] ?? "") }.joined(separator: separator) + "\r\n"
                }
                try handle.write(contentsOf: Data(chunk.utf8))
            }
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        if FileManager.default.fileExists(atPath: final) { try FileManager.default.removeItem(atPath: final) }
        try FileManager.default.moveItem(atPath: temporary, toPath: final)
        try prune()
        return final
    }

    /// Deletes all but the newest `keep` snapshots of this writer. Only names this writer writes
    /// count (`<prefix>-YYYYMMDDTHHMMSS.mmmZ.csv`): another connector whose name starts the same
    /// (`org` and `org-eu`) may share the folder, and other files are the operator's.
    func prune() throws {
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter(isOwnSnapshot).sorted()
        for old in snapshots.dropLast(keep) {
            try FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(old))
        }
    }

    /// Whether a file name is one of this writer's snapshots: the prefix, `-`, the time stamp the
    /// writer puts there, `.csv` — and nothing else.
    /// - Parameter name: A file name in the folder.
    /// - Returns: `true` for this writer's snapshots only.
    public func isOwnSnapshot(_ name: String) -> Bool {
        guard name.hasPrefix(prefix + "-"), name.hasSuffix(".csv") else { return false }
        let stamp = Array(name.dropFirst(prefix.count + 1).dropLast(4).utf8)
        // 20260601T100000.123Z: eight digits, T, six digits, a dot, three digits, Z.
        let shape = Array("DDDDDDDDTDDDDDD.DDDZ".utf8)
        guard stamp.count == shape.count else { return false }
        for (byte, expected) in zip(stamp, shape) {
            if expected == UInt8(ascii: "D") {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return false }
            } else if byte != expected {
                return false
            }
        }
        return true
    }

    static func attributes(_ json: String) throws -> [String: JSONValue] {
        guard case .object(let members) = try JSONCoding.decode(JSONValue.self, from: json) else { return [:] }
        return members
    }
}

/// The CSV sink's part of forwarding: changes are in the store already, so a batch is accepted at
/// once and only marks the snapshot as due; the snapshot itself is written after each successful
/// reconcile and at most every `realtime_interval` for real-time changes.
public final class CSVChangeTracker: RecordSink {
    private let dirty = DirtyFlag()

    /// Creates a tracker.
    public init() {}

    public func deliver(_ batch: SinkBatch) async throws(SinkError) {
        if !batch.records.isEmpty { dirty.set() }
    }

    /// Marks a snapshot as due again (after a snapshot failed).
    public func markDirty() { dirty.set() }

    /// Whether changes arrived since the last snapshot; clears the flag.
    public func takeDirty() -> Bool { dirty.take() }
}

final class DirtyFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    func set() {
        lock.lock()
        value = true
        lock.unlock()
    }

    func take() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let current = value
        value = false
        return current
    }
}
