/// Kafka's default partitioner for keyed records (the Java client's, and librdkafka's
/// `murmur2_random`, which the stream threads' producers use): where a key's records go,
/// so that ``StreamsApp/metadata(forKey:store:keySerde:)`` finds the task holding a key,
/// and the simulated producers place keys where real ones would.
package enum Murmur2 {
    package static func partition(of key: [UInt8], partitions: Int) -> Int32 {
        Int32(Int(hash(key) & 0x7fff_ffff) % partitions)
    }

    package static func hash(_ data: [UInt8]) -> UInt32 {
        let m: UInt32 = 0x5bd1_e995
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: data.count)
        var index = 0
        while index + 4 <= data.count {
            var k = UInt32(data[index]) | UInt32(data[index + 1]) << 8 | UInt32(data[index + 2]) << 16 | UInt32(data[index + 3]) << 24
            k &*= m
            k ^= k >> 24
            k &*= m
            h &*= m
            h ^= k
            index += 4
        }
        let rest = data.count - index
        if rest >= 3 { h ^= UInt32(data[index + 2]) << 16 }
        if rest >= 2 { h ^= UInt32(data[index + 1]) << 8 }
        if rest >= 1 {
            h ^= UInt32(data[index])
            h &*= m
        }
        h ^= h >> 13
        h &*= m
        h ^= h >> 15
        return h
    }
}
