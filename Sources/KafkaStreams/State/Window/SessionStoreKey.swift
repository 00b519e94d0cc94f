/// How a session store keys a session's aggregate: `[segment][key][end][start]`, each number
/// a big-endian i64, the segment being `end / segment interval` (Kafka Streams' session key
/// schema under a segment): sessions expire by their end, and a key's sessions that end
/// after a given time are one range scan per segment.
@usableFromInline
struct SessionStoreKey: Hashable, Sendable {
    @usableFromInline var segment: Int64
    @usableFromInline var key: [UInt8]
    @usableFromInline var end: Int64
    @usableFromInline var start: Int64

    @inlinable
    init(segment: Int64, key: [UInt8], end: Int64, start: Int64) {
        self.segment = segment
        self.key = key
        self.end = end
        self.start = start
    }

    /// Where the session operator keeps its own state, in a segment that never expires.
    @usableFromInline static let operatorState = SessionStoreKey(segment: .max, key: [], end: 0, start: 0)

    @usableFromInline var isOperatorState: Bool { segment == .max }

    /// Overwrites `bytes` with this key's bytes.
    @inlinable
    func write(into bytes: inout [UInt8]) { writeSegmentedKey(into: &bytes, head: segment, key: key, end, start) }
}

/// The bytes of a ``SessionStoreKey``.
@usableFromInline
struct SessionStoreKeySerde: Serde {
    @usableFromInline init() {}

    @usableFromInline
    func serialize(_ value: SessionStoreKey, into bytes: inout [UInt8]) throws { value.append(to: &bytes) }

    @usableFromInline
    func deserialize(_ bytes: UnsafeRawBufferPointer) throws -> SessionStoreKey {
        guard bytes.count >= 24 else { throw SerdeError.wrongSize(expected: 24, actual: bytes.count) }
        return SessionStoreKey(
            segment: readBigEndian(bytes, at: 0), key: Array(bytes[8..<(bytes.count - 16)]), end: readBigEndian(bytes, at: bytes.count - 16),
            start: readBigEndian(bytes, at: bytes.count - 8))
    }
}
