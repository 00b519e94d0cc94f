/// MurmurHash3, x64 128-bit variant: the hash a foreign-key join takes of a left row's
/// serialized value to tell a current response from a stale one. Seeded as Kafka Streams
/// seeds its own (`Murmur3.hash128`), so equal bytes give equal hashes in both.
struct Murmur3Hash128: Hashable, Sendable {
    static let kafkaStreamsSeed: UInt32 = 104_729

    let first: UInt64
    let second: UInt64

    init(first: UInt64, second: UInt64) {
        self.first = first
        self.second = second
    }

    init(hashing bytes: [UInt8], seed: UInt32 = kafkaStreamsSeed) {
        self = bytes.withUnsafeBytes { Self(hashing: $0, seed: seed) }
    }

    init(hashing data: UnsafeRawBufferPointer, seed: UInt32 = kafkaStreamsSeed) {
        let c1: UInt64 = 0x87c3_7b91_1142_53d5
        let c2: UInt64 = 0x4cf5_ad43_2745_937f
        var h1 = UInt64(seed)
        var h2 = UInt64(seed)
        let blocks = data.count / 16
        for block in 0..<blocks {
            var k1 = UInt64(littleEndian: data.loadUnaligned(fromByteOffset: block * 16, as: UInt64.self))
            var k2 = UInt64(littleEndian: data.loadUnaligned(fromByteOffset: block * 16 + 8, as: UInt64.self))
            k1 = Self.mixed(k1, c1, 31, c2)
            h1 ^= k1
            h1 = Self.rotated(h1, 27) &+ h2
            h1 = h1 &* 5 &+ 0x52dc_e729
            k2 = Self.mixed(k2, c2, 33, c1)
            h2 ^= k2
            h2 = Self.rotated(h2, 31) &+ h1
            h2 = h2 &* 5 &+ 0x3849_5ab5
        }
        let tail = blocks * 16
        let remaining = data.count - tail
        var k1: UInt64 = 0
        var k2: UInt64 = 0
        for index in stride(from: remaining - 1, through: 0, by: -1) {
            let byte = UInt64(data[tail + index])
            if index >= 8 { k2 ^= byte << (8 * UInt64(index - 8)) } else { k1 ^= byte << (8 * UInt64(index)) }
        }
        if remaining > 8 { h2 ^= Self.mixed(k2, c2, 33, c1) }
        if remaining > 0 { h1 ^= Self.mixed(k1, c1, 31, c2) }
        h1 ^= UInt64(data.count)
        h2 ^= UInt64(data.count)
        h1 = h1 &+ h2
        h2 = h2 &+ h1
        h1 = Self.finalized(h1)
        h2 = Self.finalized(h2)
        h1 = h1 &+ h2
        h2 = h2 &+ h1
        self.init(first: h1, second: h2)
    }

    private static func rotated(_ value: UInt64, _ bits: UInt64) -> UInt64 { (value << bits) | (value >> (64 - bits)) }

    private static func mixed(_ k: UInt64, _ first: UInt64, _ bits: UInt64, _ second: UInt64) -> UInt64 {
        rotated(k &* first, bits) &* second
    }

    private static func finalized(_ value: UInt64) -> UInt64 {
        var k = value
        k ^= k >> 33
        k = k &* 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k = k &* 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }
}
