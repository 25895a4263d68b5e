// libFuzzer target: the simulator's `filter` / `search` parser for `GET /api/v1/users` (a client's
// query string; the simulator is also run beside real clients in the peer benchmark). Built by
// scripts/fuzz.sh with Sources/OktaSimulator/API/UserFilter.swift and the domain files it needs.
import Foundation

/// The filter written back as an expression (every `and` / `or` in parentheses).
func render(_ filter: UserFilter) -> String {
    func quoted(_ value: String) -> String { "\"" + value + "\"" }
    switch filter {
    case .status(let status): return "status eq \(quoted(status.rawValue))"
    case .lastUpdated(let comparison, let timestamp):
        return "lastUpdated \(comparison.rawValue) \(quoted(timestamp.iso8601))"
    case .id(let id): return "id eq \(quoted(id))"
    case .profile(let key, let value): return "profile.\(key) eq \(quoted(value))"
    case .and(let a, let b): return "(\(render(a)) and \(render(b)))"
    case .or(let a, let b): return "(\(render(a)) or \(render(b)))"
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUserFilter(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    guard let filter = try? UserFilter.parse(text) else { return 0 }
    // Evaluating never traps, whatever the nesting.
    for status in OktaUserStatus.allCases { _ = filter.matches(status: status) }
    _ = filter.isStatusOnly
    // What parsed reads the same once written back (unless a value holds a quote, which the
    // written form cannot carry).
    let written = render(filter)
    if !written.contains("\\"), let again = try? UserFilter.parse(written) {
        precondition(render(again) == written, "\(text.debugDescription) → \(written) → \(render(again))")
    }
    return 0
}
