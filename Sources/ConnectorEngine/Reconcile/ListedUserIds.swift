/// The ids of the users a reconcile listed and kept, held in memory for the sweep (SPEC §6): an
/// unchanged user costs the store no write at all, and the sweep takes these ids away from the
/// present users to find what was not listed.
///
/// Compact and exact: an id of up to 20 letters and digits (Okta's are 20, e.g. `00u1a2b3c4d5e6f7g8h9`)
/// is packed into 16 bytes, six bits a character, so a million users take about 16 MB rather than a
/// string and a hash-table slot each; any other id is kept as a string.
struct ListedUserIds: Sendable {
    /// An id packed six bits a character (1–62; 0 pads), most significant first.
    struct Packed: Comparable, Hashable, Sendable {
        var high: UInt64
        var low: UInt64

        static func < (left: Packed, right: Packed) -> Bool {
            left.high != right.high ? left.high < right.high : left.low < right.low
        }

        /// The character's six-bit code, 0 for anything but a letter or a digit.
        static func code(_ byte: UInt8) -> UInt64 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt64(byte - UInt8(ascii: "0")) + 1
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt64(byte - UInt8(ascii: "A")) + 11
            case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt64(byte - UInt8(ascii: "a")) + 37
            default: return 0
            }
        }

        init?(_ id: String) {
            var high: UInt64 = 0
            var low: UInt64 = 0
            var count = 0
            for byte in id.utf8 {
                let code = Self.code(byte)
                guard code != 0, count < 20 else { return nil }
                // 120 bits in all: ten characters in each word.
                if count < 10 {
                    high |= code << UInt64(54 - count * 6)
                } else {
                    low |= code << UInt64(54 - (count - 10) * 6)
                }
                count += 1
            }
            self.high = high
            self.low = low
        }
    }

    private var packed: [Packed] = []
    private var others: Set<String> = []
    private var sorted = true

    /// Creates an empty list with room for about `expected` ids (the users present before the
    /// run), so that the usual run never copies the list to grow it.
    init(expected: Int = 0) {
        // Read from the store: clamped, so that a damaged count can neither overflow nor reserve
        // more than the largest org is expected to need.
        let expected = min(max(expected, 0), 50_000_000)
        if expected > 0 { packed.reserveCapacity(expected + expected / 50 + 16) }
    }

    /// Adds a listed id.
    mutating func insert(_ id: String) {
        if let key = Packed(id) {
            if let last = packed.last, key < last { sorted = false }
            packed.append(key)
        } else {
            others.insert(id)
        }
    }

    /// Sorts the ids for lookups; call once the listing is complete. In place (a heap sort): the
    /// standard library's sort would borrow a buffer of up to half the list, megabytes for a large
    /// org, at the moment the run's memory is at its highest.
    mutating func seal() {
        guard !sorted else { return }
        packed.withUnsafeMutableBufferPointer { Self.heapSort($0) }
        sorted = true
    }

    static func heapSort(_ items: UnsafeMutableBufferPointer<Packed>) {
        func siftDown(_ start: Int, _ end: Int) {
            var root = start
            while 2 * root + 1 < end {
                var child = 2 * root + 1
                if child + 1 < end, items[child] < items[child + 1] { child += 1 }
                guard items[root] < items[child] else { return }
                items.swapAt(root, child)
                root = child
            }
        }
        let count = items.count
        guard count > 1 else { return }
        for start in stride(from: count / 2 - 1, through: 0, by: -1) { siftDown(start, count) }
        for end in stride(from: count - 1, to: 0, by: -1) {
            items.swapAt(0, end)
            siftDown(0, end)
        }
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
