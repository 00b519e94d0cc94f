/// How a window store keys a window's aggregate: `[segment][key][start]`, each number a
/// big-endian i64. The segment (start / segment interval) comes first so the windows of an
/// expired span of time are contiguous, and within a segment a key's windows are in start
/// order: a key's windows over a time range are a few short range scans.
@usableFromInline
struct WindowStoreKey: Hashable, Sendable {
    @usableFromInline var segment: Int64
    /// The record key, serialized.
    @usableFromInline var key: [UInt8]
    @usableFromInline var start: Int64

    @inlinable
    init(segment: Int64, key: [UInt8], start: Int64) {
        self.segment = segment
        self.key = key
        self.start = start
    }

    /// Where a windowed operator keeps its own state (observed stream time, last emitted
    /// window) beside its windows: in a segment that never expires.
    @usableFromInline static let operatorState = WindowStoreKey(segment: .max, key: [], start: 0)

    @usableFromInline var isOperatorState: Bool { segment == .max }

    /// Overwrites `bytes` with this key's bytes.
    @inlinable
    func write(into bytes: inout [UInt8]) { Self.write(into: &bytes, segment: segment, key: key, start: start) }

    /// Overwrites `bytes` with the bytes of the key of `key`'s window at `start`, without
    /// making the key first.
    @inlinable
    static func write(into bytes: inout [UInt8], segment: Int64, key: [UInt8], start: Int64) {
        writeSegmentedKey(into: &bytes, head: segment, key: key, start)
    }
}

/// The bytes of a ``WindowStoreKey``.
@usableFromInline
struct WindowStoreKeySerde: Serde {
    @usableFromInline init() {}

    @usableFromInline
    func serialize(_ value: WindowStoreKey, into bytes: inout [UInt8]) throws { value.append(to: &bytes) }

    @usableFromInline
    func deserialize(_ bytes: UnsafeRawBufferPointer) throws -> WindowStoreKey {
        guard bytes.count >= 16 else { throw SerdeError.wrongSize(expected: 16, actual: bytes.count) }
        return WindowStoreKey(
            segment: readBigEndian(bytes, at: 0), key: Array(bytes[8..<(bytes.count - 8)]), start: readBigEndian(bytes, at: bytes.count - 8))
    }
}
