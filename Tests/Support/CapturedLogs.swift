public import Logging
import Synchronization

/// Log lines kept in memory, for tests that check what a part logs (a rule, a wait, a progress line).
public final class CapturedLogs: Sendable {
    private let lines = Mutex<[String]>([])

    /// Creates an empty capture.
    public init() {}

    /// Every line so far: the message, then the metadata as sorted `key=value` pairs.
    public var all: [String] { lines.withLock { $0 } }

    /// Whether some line contains a text.
    public func contains(_ text: String) -> Bool { all.contains { $0.contains(text) } }

    /// A logger that writes here.
    /// - Parameter level: The lowest level kept.
    public func logger(level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: "captured") { _ in Handler(capture: self) }
        logger.logLevel = level
        return logger
    }

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    struct Handler: LogHandler {
        let capture: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
            let pairs = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            capture.append("\(event.level) \(event.message)\(pairs.isEmpty ? "" : " " + pairs)")
        }
    }
}
