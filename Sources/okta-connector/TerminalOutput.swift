import ConnectorDomain

/// Everything the CLI prints goes through here. Much of it comes from outside — dead-letter reasons
/// from the sink, failed events' errors and hook names from Okta, run errors — and a terminal acts
/// on escape sequences and carriage returns in it (rewrite the screen, hide a line, set the title),
/// so every control character but the line breaks and tabs of the layout is printed escaped.
enum TerminalOutput {
    /// The text with control and bidirectional characters escaped, line breaks and tabs kept.
    static func safe(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0 != "\n" && $0 != "\t" && SafeText.needsEscape($0) }) else {
            return text
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.split(separator: "\t", omittingEmptySubsequences: false).map { SafeText.escaped(String($0)) }
                .joined(separator: "\t")
        }.joined(separator: "\n")
    }
}

/// `print` for this executable: as the standard library's, with ``TerminalOutput/safe(_:)`` applied.
func print(_ items: Any..., separator: String = " ", terminator: String = "\n") {
    Swift.print(TerminalOutput.safe(items.map { "\($0)" }.joined(separator: separator)), terminator: terminator)
}
