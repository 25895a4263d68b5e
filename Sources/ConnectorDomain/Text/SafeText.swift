/// Text from outside (Okta, the sink, a delivery, a configuration value) made safe to print on a
/// terminal or in a log line: control characters — C0 (including carriage return and escape, which
/// starts terminal sequences), DEL and C1 (`U+009B` starts them too) — and the bidirectional
/// overrides that reorder what a reader sees are written as visible escapes (`\n`, `\r`, `\t`,
/// `\u{1B}`). Everything else, non-Latin scripts included, is kept as it is.
public enum SafeText {
    /// The text with every control and bidirectional-override character escaped; a backslash is
    /// doubled only when `escapingBackslash` (for formats that read the escapes back).
    /// - Parameters:
    ///   - text: Text from outside.
    ///   - escapingBackslash: Whether `\` itself becomes `\\`.
    /// - Returns: Text that moves no cursor, clears no screen and hides no line.
    public static func escaped(_ text: String, escapingBackslash: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: { needsEscape($0) || (escapingBackslash && $0 == "\\") }) else {
            return text
        }
        var output = ""
        output.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\\" where escapingBackslash: output += "\\\\"
            case _ where needsEscape(scalar): output += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    /// Whether a character must not reach a terminal or log line raw.
    /// - Parameter scalar: One Unicode scalar.
    /// - Returns: `true` for C0, DEL, C1, line and paragraph separators and bidirectional controls.
    public static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: return true
        case 0x2028, 0x2029: return true
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }
}
