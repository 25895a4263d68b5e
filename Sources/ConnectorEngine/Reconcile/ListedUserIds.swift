/// The ids of the users a reconcile listed and kept, held in memory for the sweep (SPEC §6): an
/// unchanged user costs the store no write at all, and the sweep takes these ids away from the
/// present users to find what was not listed.
///
/// Compact and exact: an id of up to 24 bytes (Okta's are 20) is packed into three words, so a
/// million users take about 24 MB rather than a string and a hash-table slot each; longer ids (or
/// ids holding a NUL byte, which the packing pads with) are kept as strings.
struct ListedUserIds: Sendable {
    /// An id packed big-endian and padded with zero bytes.
    struct Packed: Comparable, Hashable, Sendable {
        var high: UInt64
        var middle: UInt64
        var low: UInt64

        static func < (left: Packed, right: Packed) -> Bool {
            (left.high, left.middle, left.low) < (right.high, right.middle, right.low)
        }

        init?(_ id: String) {
            var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
            var count = 0
            for byte in id.utf8 {
                guard byte != 0, count < 24 else { return nil }
                let shift = UInt64(56 - (count % 8) * 8)
                switch count / 8 {
                case 0: words.0 |= UInt64(byte) << shift
                case 1: words.1 |= UInt64(byte) << shift
                default: words.2 |= UInt64(byte) << shift
                }
                count += 1
            }
            (high, middle, low) = words
        }
    }

    private var packed: [Packed] = []
    private var others: Set<String> = []
    private var sorted = true

    /// Adds a listed id.
    mutating func insert(_ id: String) {
        if let key = Packed(id) {
            if let last = packed.last, key < last { sorted = false }
            packed.append(key)
        } else {
            others.insert(id)
        }
    }

    /// Sorts the ids for lookups; call once the listing is complete.
    mutating func seal() {
        guard !sorted else { return }
        packed.sort()
        sorted = true
    }

    /// Whether an id was listed. Requires ``seal()`` after the last insertion.
    func contains(_ id: String) -> Bool {
        guard let key = Packed(id) else { return others.contains(id) }
        precondition(sorted, "ListedUserIds.seal() must come before lookups")
        var low = 0
        var high = packed.count
        while low < high {
            let middle = (low + high) / 2
            if packed[middle] < key { low = middle + 1 } else { high = middle }
        }
        return low < packed.count && packed[low] == key
    }
}
