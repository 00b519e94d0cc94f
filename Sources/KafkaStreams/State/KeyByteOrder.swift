import Foundation

/// Sorts a batch of store keys into byte order, as RocksDB's memtable wants a write batch's
/// keys (see ``RocksDBBytesStore``'s restore batches).
enum KeyByteOrder {
    /// The indices of `keys` in byte order of the keys, a key's later records after its
    /// earlier ones. Most comparisons are of one integer: the eight bytes that follow the
    /// prefix every key shares (a window store's segment, say), read big-endian; only
    /// keys equal there are compared byte by byte.
    static func sortedIndices(of keys: [UnsafeRawBufferPointer]) -> [Int] {
        guard let first = keys.first else { return [] }
        var shared = first.count
        for key in keys.dropFirst() where shared > 0 {
            shared = min(shared, key.count)
            if shared > 0 && memcmp(first.baseAddress!, key.baseAddress!, shared) != 0 {
                shared = zip(first[..<shared], key[..<shared]).prefix { $0 == $1 }.count
            }
        }
        var order = keys.indices.map { (word: bigEndianWord(keys[$0], from: shared), index: $0) }
        order.sort { left, right in
            if left.word != right.word { return left.word < right.word }
            // Equal words: the keys agree on their first `shared + 8` bytes, or one ends
            // there, zeros after it standing in for missing bytes.
            let a = keys[left.index]
            let b = keys[right.index]
            let common = min(a.count, b.count)
            let compared = common > shared ? memcmp(a.baseAddress! + shared, b.baseAddress! + shared, common - shared) : 0
            if compared != 0 { return compared < 0 }
            return a.count != b.count ? a.count < b.count : left.index < right.index
        }
        return order.map(\.index)
    }

    /// The eight bytes of `key` from `offset`, big-endian, zeros past its end: in the
    /// same order as the keys wherever two words differ.
    private static func bigEndianWord(_ key: UnsafeRawBufferPointer, from offset: Int) -> UInt64 {
        var word: UInt64 = 0
        for position in offset..<(offset + 8) {
            word = word << 8 | UInt64(position < key.count ? key[position] : 0)
        }
        return word
    }
}
