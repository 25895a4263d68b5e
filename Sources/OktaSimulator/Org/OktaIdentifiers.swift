/// Okta-looking ids that encode the simulator's index, so that lookups need no table.
///
/// Okta ids are 20 characters: a 3-character type prefix (`00u` users, `0oa` apps, `00g` groups,
/// `guo` devices, `00o` the org) and 17 base-62 characters. Here the 17 are a 6-character tag
/// derived from the seed and 11 characters of an invertible scramble of the index, so ids look
/// random, differ between seeds, and decode back to their index.
struct OktaIdentifiers: Sendable {
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
    let tag: String
    let key: UInt64

    init(seed: UInt64) {
        var random = SplitMix64(seed: seed, stream: 0x1D, index: 0)
        key = random.next() | 1
        var tag = ""
        for _ in 0..<6 { tag.unicodeScalars.append(Unicode.Scalar(Self.alphabet[random.below(62)])) }
        self.tag = tag
    }

    func user(_ index: Int) -> String { make("00u", index) }
    func app(_ index: Int) -> String { make("0oa", index) }
    func group(_ index: Int) -> String { make("00g", index) }
    func device(_ index: Int) -> String { make("guo", index) }
    func userType() -> String { "oty" + tag + "00000000000" }
    func organization() -> String { make("00o", 0) }

    func userIndex(_ id: String) -> Int? { parse(id, prefix: "00u") }
    func appIndex(_ id: String) -> Int? { parse(id, prefix: "0oa") }
    func groupIndex(_ id: String) -> Int? { parse(id, prefix: "00g") }
    func deviceIndex(_ id: String) -> Int? { parse(id, prefix: "guo") }

    private func make(_ prefix: String, _ index: Int) -> String {
        var value = scramble(UInt64(index))
        var digits = [UInt8](repeating: Self.alphabet[0], count: 11)
        for position in stride(from: 10, through: 0, by: -1) {
            digits[position] = Self.alphabet[Int(value % 62)]
            value /= 62
        }
        return prefix + tag + String(decoding: digits, as: UTF8.self)
    }

    private func parse(_ id: String, prefix: String) -> Int? {
        let bytes = Array(id.utf8)
        guard bytes.count == 20, id.hasPrefix(prefix + tag) else { return nil }
        var value: UInt64 = 0
        for byte in bytes[9...] {
            guard let digit = Self.alphabet.firstIndex(of: byte) else { return nil }
            let (multiplied, overflow1) = value.multipliedReportingOverflow(by: 62)
            let (added, overflow2) = multiplied.addingReportingOverflow(UInt64(digit))
            guard !overflow1, !overflow2 else { return nil }
            value = added
        }
        let index = unscramble(value)
        guard index < UInt64(Int.max), make(prefix, Int(index)) == id else { return nil }
        return Int(index)
    }

    // An invertible mix: xor-shift and multiplication by an odd constant are both bijections on 64 bits.
    private func scramble(_ x: UInt64) -> UInt64 {
        var v = x ^ key
        v = v &* 0x9E37_79B9_7F4A_7C15
        v ^= v >> 29
        return v
    }

    private func unscramble(_ y: UInt64) -> UInt64 {
        var v = y
        v ^= v >> 29
        v ^= v >> 58
        v = v &* 0xF1DE_83E1_9937_733D  // inverse of 0x9E3779B97F4A7C15 mod 2^64
        return v ^ key
    }
}
