// libFuzzer target: CSV cells as the snapshot writer writes them (SPEC §9), read back as a
// spreadsheet or the Neurons importer reads RFC 4180. Built by scripts/fuzz.sh with
// Sources/NeuronsSinks/CSVSnapshotWriter.swift and the domain files it needs.
import Foundation

/// Reads one CSV row (RFC 4180: quoted fields with `""`, no line break outside quotes).
func readRow(_ line: String, delimiter: Character) -> [String]? {
    var fields: [String] = []
    var current = ""
    var inQuotes = false
    var wasQuoted = false
    var index = line.unicodeScalars.startIndex
    let scalars = line.unicodeScalars
    let delimiterScalar = delimiter.unicodeScalars.first!
    while index < scalars.endIndex {
        let scalar = scalars[index]
        if inQuotes {
            if scalar == "\"" {
                let next = scalars.index(after: index)
                if next < scalars.endIndex, scalars[next] == "\"" {
                    current.unicodeScalars.append("\"")
                    index = next
                } else {
                    inQuotes = false
                }
            } else {
                current.unicodeScalars.append(scalar)
            }
        } else if scalar == "\"" {
            guard current.isEmpty, !wasQuoted else { return nil }  // a quote inside an unquoted field
            inQuotes = true
            wasQuoted = true
        } else if scalar == delimiterScalar {
            fields.append(current)
            current = ""
            wasQuoted = false
        } else if scalar == "\n" || scalar == "\r" || wasQuoted {
            return nil  // a line break outside quotes, or text after a closing quote
        } else {
            current.unicodeScalars.append(scalar)
        }
        index = scalars.index(after: index)
    }
    guard !inQuotes else { return nil }
    fields.append(current)
    return fields
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSVCell(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    // Cells separated by the unit separator (U+001F), which no test value holds.
    let cells = text.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
    for delimiter in [",", ";", "\t"] as [Character] {
        for neutralize in [true, false] {
            let writer = CSVSnapshotWriter(
                directory: "/nonexistent", delimiter: delimiter, keep: 1, prefix: "fuzz", neutralizeFormulas: neutralize
            )
            let line = cells.map(writer.cell).joined(separator: String(delimiter))
            guard let read = readRow(line, delimiter: delimiter) else {
                preconditionFailure("the row does not read back: \(line.debugDescription)")
            }
            let expected = neutralize ? cells.map(CSVSnapshotWriter.neutralizingFormula) : cells
            precondition(read == expected, "cells changed: \(expected.debugDescription) → \(read.debugDescription)")
            if neutralize {
                // What a spreadsheet reads as a formula: a formula character (ASCII, full-width or
                // small form) first, or after white space, which it skips.
                let starts = "=+-@\t\r\u{FF1D}\u{FF0B}\u{FF0D}\u{FF20}\u{FE66}\u{FE62}\u{FE63}\u{FE6B}".unicodeScalars
                for cell in read where !cell.hasPrefix("'") {
                    if let first = cell.unicodeScalars.first(where: {
                        starts.contains($0) || !$0.properties.isWhitespace
                    }) {
                        precondition(!starts.contains(first), "a live formula: \(cell.debugDescription)")
                    }
                }
            }
        }
    }
    // A list cell reads back into exactly its items.
    let items = text.split(separator: "\u{1E}", omittingEmptySubsequences: false).map(String.init)
    let cell = items.map(CSVSnapshotWriter.escapeListItem).joined(separator: ";")
    let back = CSVSnapshotWriter.listItems(cell)
    precondition(
        back == items || (items == [""] && back.isEmpty),
        "list items changed: \(items.debugDescription) → \(back.debugDescription)")
    return 0
}
