import Testing

@testable import KafkaStreams

/// Window and session store keys are written over a reused buffer per window update: the
/// bytes must be the stored layout whatever the buffer held before (a longer key, a
/// shorter one, another key kind), or an update misses its window.
@Suite struct SegmentedStoreKeyTests {
    /// `value` as eight big-endian bytes, spelled out independently of the code under test.
    static func bigEndian(_ value: Int64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: value) >> UInt64(56 - 8 * $0)) }
    }

    static let keys: [[UInt8]] = [[], [7], Array("k12".utf8), Array("a-much-longer-record-key".utf8), [0, 255, 0]]

    @Test func windowKeysOverwriteAReusedBufferWithTheStoredLayout() throws {
        var buffer: [UInt8] = Array(repeating: 0xAB, count: 40)
        for (index, key) in (Self.keys + Self.keys.reversed()).enumerated() {
            let (segment, start) = (Int64(index) * 3, Int64(index) * 60_000 + 0x0102_0304)
            WindowStoreKey.write(into: &buffer, segment: segment, key: key, start: start)
            #expect(buffer == Self.bigEndian(segment) + key + Self.bigEndian(start))
            let decoded = try buffer.withUnsafeBytes { try WindowStoreKeySerde().deserialize($0) }
            #expect(decoded == WindowStoreKey(segment: segment, key: key, start: start))
        }
    }

    @Test func sessionKeysOverwriteAReusedBufferWithTheStoredLayout() throws {
        var buffer: [UInt8] = []
        for (index, key) in (Self.keys + Self.keys.reversed()).enumerated() {
            let session = SessionStoreKey(segment: Int64(index), key: key, end: Int64(index) * 1_000 + 999, start: -Int64(index))
            session.write(into: &buffer)
            #expect(buffer == Self.bigEndian(session.segment) + key + Self.bigEndian(session.end) + Self.bigEndian(session.start))
            #expect(try buffer.withUnsafeBytes { try SessionStoreKeySerde().deserialize($0) } == session)
            // A window key over a session key's buffer, and back: each is its own length.
            WindowStoreKey.write(into: &buffer, segment: 1, key: key, start: 2)
            #expect(buffer.count == key.count + 16)
        }
    }

    @Test func theSerdesAppendAfterWhatTheBufferHolds() throws {
        var bytes: [UInt8] = [9, 9]
        try WindowStoreKeySerde().serialize(WindowStoreKey(segment: 1, key: [5], start: 2), into: &bytes)
        #expect(bytes == [9, 9] + Self.bigEndian(1) + [5] + Self.bigEndian(2))
        bytes = []
        try SessionStoreKeySerde().serialize(SessionStoreKey(segment: 1, key: [5], end: 3, start: 2), into: &bytes)
        #expect(bytes == Self.bigEndian(1) + [5] + Self.bigEndian(3) + Self.bigEndian(2))
    }
}
