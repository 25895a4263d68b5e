import Foundation

/// `Link` header parsing. Okta sends `self` and `next` as two header lines; clients and proxies may
/// join them into one comma-separated value (shared/okta README): both are handled.
public enum LinkHeader {
    /// The URL of the link with a relation, from every `Link` header value.
    /// - Parameters:
    ///   - relation: `next`, `self`, ...
    ///   - values: The values of every `Link` header line.
    /// - Returns: The URL, or `nil` when there is no such link.
    public static func url(rel relation: String, in values: [String]) -> String? {
        for value in values {
            for link in split(value) {
                guard let open = link.firstIndex(of: "<"), let close = link.firstIndex(of: ">"), open < close else {
                    continue
                }
                let parameters = link[link.index(after: close)...].split(separator: ";")
                for parameter in parameters {
                    let parts = parameter.split(separator: "=", maxSplits: 1).map {
                        $0.trimmingCharacters(in: .whitespaces)
                    }
                    guard parts.count == 2, parts[0].lowercased() == "rel" else { continue }
                    let relations = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                        .split(separator: " ").map(String.init)
                    if relations.contains(relation) { return String(link[link.index(after: open)..<close]) }
                }
            }
        }
        return nil
    }

    /// Splits a joined value on the commas between links (not those inside `<...>`).
    static func split(_ value: String) -> [Substring] {
        var parts: [Substring] = []
        var depth = 0
        var start = value.startIndex
        for index in value.indices {
            switch value[index] {
            case "<": depth += 1
            case ">": depth = max(0, depth - 1)
            case "," where depth == 0:
                parts.append(value[start..<index])
                start = value.index(after: index)
            default: break
            }
        }
        parts.append(value[start...])
        return parts
    }
}
