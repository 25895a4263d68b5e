public import ConnectorDomain
import Foundation

/// One JSON line per change, appended to a file and synced per batch, or written to standard output
/// (SPEC §9): the embedded default and the easiest to inspect.
public final class NDJSONSink: RecordSink {
    /// The file, or `-` for standard output.
    public let path: String

    /// Creates a sink; the file's folder is created when needed.
    /// - Parameters:
    ///   - path: The file, or `-` for standard output.
    ///   - access: The mode and group of the file (it holds personal data): `0600` by default; an
    ///     existing file is given it too.
    public init(path: String, access: PrivateFileAccess = .ownerOnly) throws {
        self.path = path
        if path != "-" {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            do {
                try access.create(path)
            } catch {
                throw SinkError.permanent(reason: "cannot create \(path): \(error)")
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
