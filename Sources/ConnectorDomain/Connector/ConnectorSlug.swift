/// The URL-safe form of a connector name, used in hook paths, metrics and file names.
public enum ConnectorSlug {
    /// Lowercase ASCII letters and digits, other runs of characters turned into one `-`.
    /// - Parameter name: The connector name.
    /// - Returns: The slug, e.g. `okta-production` for `Okta production`; empty if nothing is left.
    public static func make(from name: String) -> String {
        var slug = ""
        var pendingDash = false
        for scalar in name.lowercased().unicodeScalars {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
                if pendingDash, !slug.isEmpty { slug.append("-") }
                pendingDash = false
                slug.unicodeScalars.append(scalar)
            } else {
                pendingDash = true
            }
        }
        return slug
    }
}
