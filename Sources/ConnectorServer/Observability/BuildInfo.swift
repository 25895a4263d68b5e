/// What this binary is: the version and the git commit it was built from.
///
/// A plain `swift build` reports the release in `VERSION` (``ReleaseVersion``) and commit `unknown`
/// (a source build cannot know it). Release builds (the container image, the
/// root-filesystem proof) run `scripts/stamp-version.sh`, which writes `BuildStamp.generated.swift`
/// next to this file (ignored by git), and compile with `-Xswiftc -DOKTA_CONNECTOR_STAMPED` so that
/// the stamped values replace the defaults below.
public enum BuildInfo {
    /// The release version: the repository's `VERSION` file (as stamped, or as ``ReleaseVersion``).
    public static var version: String { BuildStamp.version }
    /// The git commit the binary was built from, or `unknown`.
    public static var commit: String { BuildStamp.commit }
    /// One line for people: `okta-connector 0.1.0 (commit 0123abcd4567)`.
    public static var description: String { "okta-connector \(version) (commit \(commit))" }
}

#if !OKTA_CONNECTOR_STAMPED
    enum BuildStamp {
        static let version = ReleaseVersion.number
        static let commit = "unknown"
    }
#endif
