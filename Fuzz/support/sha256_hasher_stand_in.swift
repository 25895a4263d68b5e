// Fuzz builds only: stands in for swift-crypto's `SHA256` where the page reader digests user objects.
// The user_page target checks located objects and reads, never digest values; an FNV-1a of the
// bytes keeps the shape (a 32-byte digest).
struct SHA256 {
    private var hash: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func update(bufferPointer: UnsafeRawBufferPointer) {
        for byte in bufferPointer {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
    }

    func finalize() -> [UInt8] {
        (0..<32).map { UInt8(truncatingIfNeeded: hash >> UInt64(($0 % 8) * 8)) }
    }
}
