import Foundation

/// One JSON line per change, appended to a file and synced per batch, or written to standard output
/// (SPEC §9): the embedded default and the easiest to inspect.
public final class NDJSONSink: RecordSink {
    /// The file, or `-` for standard output.
    public let path: String

    /// Creates a sink; the file's folder is created when needed.
    public init(path: String) throws {
        self.path = path
        if path != "-" {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil) else {
                    throw SinkError.permanent(reason: "cannot create \(path)")
                }
            }
        }
    }

    public func deliver(_ batch: SinkBatch) async throws(SinkError) {
        guard !batch.records.isEmpty else { return }
        let text = batch.records.map(\.json).joined(separator: "\n") + "\n"
        if path == "-" {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(text.utf8))
            try handle.synchronize()
        } catch {
            throw .retryable(reason: "cannot append to \(path): \(error)", retryAfter: nil)
        }
    }
}
