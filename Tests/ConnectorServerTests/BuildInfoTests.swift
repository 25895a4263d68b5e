import ConnectorServer
import ConnectorTestSupport
import Foundation
import Testing

/// `okta-connector version` and `okta_connector_build_info` report the same build; an unstamped
/// build (as the tests are) names the release in `VERSION`, so that a bug report names a release.
@Suite("Version and build info")
struct BuildInfoTests {
    @Test func theVersionCommandPrintsTheStampedValuesOrDev() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "okta-version-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let binary = TestProcess.executable("okta-connector")
        let full = try await TestProcess.run(
            binary, arguments: ["version"], log: directory.appendingPathComponent("version.log").path, timeout: 30)
        #expect(full.status == 0)
        #expect(
            full.output.contains("okta-connector \(BuildInfo.version) (commit \(BuildInfo.commit))"), "\(full.output)")
        let short = try await TestProcess.run(
            binary, arguments: ["version", "--short"], log: directory.appendingPathComponent("short.log").path,
            timeout: 30)
        #expect(short.status == 0)
        #expect(short.output.trimmingCharacters(in: .whitespacesAndNewlines) == BuildInfo.version)
        // `swift build` without scripts/stamp-version.sh and -DOKTA_CONNECTOR_STAMPED: the release
        // in VERSION, and no commit.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let release = try String(contentsOf: root.appendingPathComponent("VERSION"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!release.isEmpty)
        #expect(BuildInfo.version == release, "the VERSION file and ReleaseVersion.number differ")
        #expect(full.output.contains("okta-connector \(release) (commit unknown)"), "\(full.output)")
        #expect(BuildInfo.commit == "unknown")
    }

    @Test func theBuildInfoMetricCarriesTheVersionAndCommit() async throws {
        let serve = try await ServeHarness()
        let metrics = try await serve.get("/metrics").body
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("okta_connector_build_info{") }
        #expect(line?.contains(#"version="\#(BuildInfo.version)""#) == true, "\(metrics)")
        #expect(line?.contains(#"commit="\#(BuildInfo.commit)""#) == true)
        #expect(line?.hasSuffix(" 1") == true || line?.hasSuffix(" 1.0") == true)
        #expect(metrics.contains("# HELP okta_connector_build_info "))
        await serve.stop()
    }
}
