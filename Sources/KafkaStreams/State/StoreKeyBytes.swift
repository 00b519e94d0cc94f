#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A store key's bytes as a dictionary key, hashed in one pass over the bytes: `[UInt8]`'s
/// own `Hashable` feeds the hasher one byte at a time, which the record cache paid on
/// every read and write.
struct StoreKeyBytes: Hashable, Comparable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    static func == (lhs: StoreKeyBytes, rhs: StoreKeyBytes) -> Bool {
        lhs.bytes.withUnsafeBytes { left in
            rhs.bytes.withUnsafeBytes { right in
                left.count == right.count && (left.count == 0 || memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0)
            }
        }
    }

    /// Byte order (RocksDB's): the shorter of two keys sharing a prefix comes first.
    static func < (lhs: StoreKeyBytes, rhs: StoreKeyBytes) -> Bool {
        lhs.bytes.withUnsafeBytes { left in
            rhs.bytes.withUnsafeBytes { right in
                let common = min(left.count, right.count)
                let order = common == 0 ? 0 : memcmp(left.baseAddress!, right.baseAddress!, common)
                return order != 0 ? order < 0 : left.count < right.count
            }
        }
    }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
