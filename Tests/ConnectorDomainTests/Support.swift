import ConnectorDomain
import Foundation

/// Okta's reference data beside the project (`../shared/okta`), when present.
///
/// Conformance tests read it in place; `OKTA_SHARED_DIR` may point elsewhere.
enum SharedOktaData {
    static var directory: URL? {
        if let override = ProcessInfo.processInfo.environment["OKTA_SHARED_DIR"] {
            return URL(fileURLWithPath: override)
        }
        let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let candidate = projectRoot.deletingLastPathComponent().appendingPathComponent("shared/okta")
        return FileManager.default.fileExists(atPath: candidate.path) ? candidate : nil
    }

    /// The folder, or `nil` after printing that the conformance test skipped.
    static func require(_ subfolder: String, test: String) -> URL? {
        guard let directory else {
            print(
                "SKIPPED \(test): ../shared/okta is absent, so the conformance check against Okta's recordings did not run"
            )
            return nil
        }
        return directory.appendingPathComponent(subfolder)
    }
}

func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
    try JSONCoding.decoder().decode(type, from: Data(text.utf8))
}

func ts(_ text: String) -> Timestamp {
    Timestamp.parse(text)!
}

func utc(_ text: String) -> Date {
    Timestamp.parse(text)!.date
}
