#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A store key's bytes as a dictionary key, carrying a hash of them computed once.
///
/// The record cache and the stores' pending writes look keys up several times per record.
/// `[UInt8]`'s own `Hashable` feeds the hasher a byte at a time; and a table that keeps
/// only the arrays must follow each probed slot's pointer to its bytes on the heap, which
/// for a key not held (every new window) is several cache misses per lookup. The stored
/// fingerprint answers most probes without leaving the table, and hashes in a few
/// multiplications.
@usableFromInline
struct StoreKeyBytes: Hashable, Comparable {
    @usableFromInline let bytes: [UInt8]
    /// A seeded 64-bit hash of `bytes`.
    @usableFromInline let fingerprint: UInt64

    @usableFromInline
    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        fingerprint = bytes.withUnsafeBytes(Self.fingerprint(of:))
    }

    @inlinable
    static func == (lhs: StoreKeyBytes, rhs: StoreKeyBytes) -> Bool {
        lhs.fingerprint == rhs.fingerprint && compare(lhs.bytes, rhs.bytes) == 0
    }

    /// Byte order (RocksDB's): the shorter of two keys sharing a prefix comes first.
    @usableFromInline
    static func < (lhs: StoreKeyBytes, rhs: StoreKeyBytes) -> Bool { compare(lhs.bytes, rhs.bytes) < 0 }

    @usableFromInline
    func hash(into hasher: inout Hasher) { hasher.combine(fingerprint) }

    /// What `Dictionary` and `Set` call: the fingerprint mixed with the table's seed, without
    /// the general-purpose hasher's setup per lookup. (Mixing the seed in keeps tables of
    /// different sizes from sharing one probe order, which makes copying between them
    /// quadratic.)
    @inlinable
    func _rawHashValue(seed: Int) -> Int {
        Int(truncatingIfNeeded: Self.finalMix(fingerprint ^ UInt64(truncatingIfNeeded: seed)))
    }

    /// The byte order of two keys: negative, zero or positive.
    @usableFromInline
    static func compare(_ lhs: [UInt8], _ rhs: [UInt8]) -> Int {
        lhs.withUnsafeBytes { left in
            rhs.withUnsafeBytes { right in
                let common = min(left.count, right.count)
                let order = common == 0 ? 0 : memcmp(left.baseAddress!, right.baseAddress!, common)
                return order != 0 ? Int(order) : left.count - right.count
            }
        }
    }

    /// Per process, so that no fixed set of keys collides everywhere: keys come from
    /// records, which anyone upstream may choose.
    private static let seed = UInt64.random(in: .min ... .max)

    /// Folds the bytes eight at a time (a multiply and a shift per word) and mixes the
    /// result: short keys, as store keys are, hash in a few nanoseconds.
    static func fingerprint(of raw: UnsafeRawBufferPointer) -> UInt64 {
        var hash = seed ^ (UInt64(raw.count) &* 0x9E37_79B9_7F4A_7C15)
        var offset = 0
        while offset + 8 <= raw.count {
            hash = fold(hash, raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset += 8
        }
        if offset < raw.count {
            var tail: UInt64 = 0
            for index in offset..<raw.count { tail |= UInt64(raw[index]) << UInt64((index - offset) * 8) }
            hash = fold(hash, tail)
        }
        return finalMix(hash)
    }

    private static func fold(_ hash: UInt64, _ word: UInt64) -> UInt64 {
        let mixed = (hash ^ word) &* 0xBF58_476D_1CE4_E5B9
        return mixed ^ (mixed >> 29)
    }

    /// MurmurHash3's 64-bit finalizer: every input bit reaches every output bit.
    @inlinable
    static func finalMix(_ value: UInt64) -> UInt64 {
        var mixed = value
        mixed ^= mixed >> 33
        mixed &*= 0xFF51_AFD7_ED55_8CCD
        mixed ^= mixed >> 33
        mixed &*= 0xC4CE_B9FE_1A85_EC53
        mixed ^= mixed >> 33
        return mixed
    }
}
