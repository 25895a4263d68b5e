public import ConnectorConfiguration
import ConnectorDomain
import Foundation
public import Logging

/// One line per log event, as JSON objects or logfmt (SPEC §11), on standard error.
///
/// Lines carry the time (ISO 8601 UTC), level, message and every metadata key (connector, run id,
/// event id where relevant). Nothing secret is ever put in metadata, so nothing secret is printed.
public struct StructuredLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let format: LoggingSettings.Format
    let label: String

    /// Creates a handler.
    public init(label: String, format: LoggingSettings.Format, level: Logger.Level) {
        self.label = label
        self.format = format
        self.logLevel = level
    }

    /// Bootstraps the process's logging from the configuration.
    public static func bootstrap(_ settings: LoggingSettings) {
        let level = Logger.Level(rawValue: settings.level) ?? .info
        LoggingSystem.bootstrap { label in StructuredLogHandler(label: label, format: settings.format, level: level) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, String)] = [
            ("time", Timestamp(Date()).iso8601), ("level", event.level.rawValue), ("msg", event.message.description),
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for key in merged.keys.sorted() { fields.append((key, "\(merged[key]!)")) }
        if event.level >= .error { fields.append(("source", "\(event.source)")) }
        let line: String
        switch format {
        case .json:
            // JSON escapes C0 itself; DEL, C1 and bidirectional controls are escaped first, so a
            // reader that prints the decoded value to a terminal is safe too.
            line = CanonicalJSON.string(
                .object(
                    Dictionary(
                        fields.map { ($0.0, JSONValue.string(Self.jsonSafe($0.1))) }, uniquingKeysWith: { $1 })))
        case .logfmt:
            line = fields.map { "\($0.0)=\(Self.logfmtValue($0.1))" }.joined(separator: " ")
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// A JSON string value with the characters JSON leaves raw but terminals act on escaped.
    static func jsonSafe(_ value: String) -> String {
        guard value.unicodeScalars.contains(where: { $0.value >= 0x7F && SafeText.needsEscape($0) }) else {
            return value
        }
        return SafeText.escaped(value)
    }

    /// A logfmt value: bare when it is one plain word, else quoted with `\`, `"` and every control
    /// character escaped, so that a value from outside can neither end the line nor forge another
    /// key or line, nor send a terminal escape sequence.
    static func logfmtValue(_ value: String) -> String {
        let plain =
            !value.isEmpty
            && value.unicodeScalars.allSatisfy {
                !$0.properties.isWhitespace && $0 != "\"" && $0 != "=" && $0 != "\\" && !SafeText.needsEscape($0)
            }
        if plain { return value }
        return "\"" + SafeText.escaped(value, escapingBackslash: true).replacingOccurrences(of: "\"", with: "\\\"")
            + "\""
    }
}

extension StructuredLogHandler {
    /// A handler for one logger (tests), without bootstrapping the process.
    public static func logger(label: String, settings: LoggingSettings) -> Logger {
        Logger(label: label) {
            StructuredLogHandler(
                label: $0, format: settings.format, level: Logger.Level(rawValue: settings.level) ?? .info)
        }
    }
}
