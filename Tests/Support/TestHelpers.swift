public import Foundation
public import Logging

/// Polls a condition until it holds or a deadline passes: tests wait for things that happen on
/// other tasks or processes without fixed sleeps.
/// - Returns: Whether the condition held in time.
public func eventually(timeout: TimeInterval = 30, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let end = Date().addingTimeInterval(timeout)
    // A cancelled test (its time limit passed) stops polling: its sleeps would return at once.
    while Date() < end, !Task.isCancelled {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// A logger that only speaks up for critical problems, for the parts under test.
public let quietLogger: Logger = {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}()

/// Okta's reference data beside the project (`../shared/okta`), when present.
///
/// Conformance tests read it in place; `OKTA_SHARED_DIR` may point elsewhere. When it is absent
/// they print that they skipped.
public enum SharedOktaData {
    /// The folder, if present.
    public static var directory: URL? {
        if let override = ProcessInfo.processInfo.environment["OKTA_SHARED_DIR"] {
            return URL(fileURLWithPath: override)
        }
        let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let candidate = projectRoot.deletingLastPathComponent().appendingPathComponent("shared/okta")
        return FileManager.default.fileExists(atPath: candidate.path) ? candidate : nil
    }

    /// A subfolder (or the folder itself for ""), or `nil` after printing that the test skipped.
    public static func require(_ subfolder: String, test: String) -> URL? {
        guard let directory else {
            print(
                "SKIPPED \(test): ../shared/okta is absent, so the conformance check against Okta's reference data did not run"
            )
            return nil
        }
        return subfolder.isEmpty ? directory : directory.appendingPathComponent(subfolder)
    }
}
