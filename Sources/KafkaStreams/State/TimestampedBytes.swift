/// How a store keeps a value with its time: the time (i64 big endian), then the value's
/// bytes. A window store keeps each window's aggregate so, with the largest record time in
/// the window (the time its results carry); an aggregation's key-value store keeps each
/// aggregate so, with the largest time of what it aggregates, as Kafka Streams'
/// timestamped stores do.
@usableFromInline
enum TimestampedBytes {
    /// The time and value stored in `bytes`, the value decoded in place (an update copies
    /// no bytes to read its aggregate).
    @inlinable
    static func decode<Value>(_ bytes: [UInt8], _ serde: AnySerde<Value>) throws -> (timestamp: Int64, value: Value) {
        guard bytes.count >= 8 else { throw SerdeError.wrongSize(expected: 8, actual: bytes.count) }
        return try bytes.withUnsafeBytes { raw in
            (readBigEndian(raw, at: 0), try serde.decode(UnsafeRawBufferPointer(rebasing: raw[8...])))
        }
    }

    /// The bytes that store `value` with `timestamp`, encoded straight after the time;
    /// `nil` when the serde encodes the value as null.
    @inlinable
    static func encode<Value>(_ value: Value, timestamp: Int64, _ serde: AnySerde<Value>) throws -> [UInt8]? {
        var bytes: [UInt8] = []
        // Room for the time and a small value: growing the buffer costs a copy.
        bytes.reserveCapacity(64)
        appendBigEndian(timestamp, to: &bytes)
        return try serde.encode(value, &bytes) ? bytes : nil
    }

    /// The time and the value's bytes of stored bytes; `nil` when they are too short to
    /// hold a time.
    static func split(_ bytes: [UInt8]) -> (timestamp: Int64, value: ArraySlice<UInt8>)? {
        guard bytes.count >= 8 else { return nil }
        return (bytes.withUnsafeBytes { readBigEndian($0, at: 0) }, bytes[8...])
    }

    /// The stored bytes of a value's bytes and its time (a changelog record's value and
    /// timestamp, as a restore reads them).
    static func joined(timestamp: Int64, value: UnsafeRawBufferPointer) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + value.count)
        appendBigEndian(timestamp, to: &bytes)
        bytes.append(contentsOf: value)
        return bytes
    }
}
