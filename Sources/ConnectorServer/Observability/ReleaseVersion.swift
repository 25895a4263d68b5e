/// The release this source tree belongs to: the same number as the repository's `VERSION` file (a
/// test keeps the two equal), so that every build, stamped or not, names a release in
/// `okta-connector version`, the `okta_connector_build_info` metric and a bug report.
enum ReleaseVersion {
    /// The number in `VERSION`.
    static let number = "0.1.0"
}
