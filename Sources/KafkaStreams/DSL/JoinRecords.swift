/// The values one side of a stream–stream join holds for a key at one time: records with
/// equal keys and times are all kept, in arrival order (Kafka Streams' duplicates-keeping
/// join stores).
@usableFromInline
struct JoinRecords<Value> {
    @usableFromInline var values: [Value]

    @usableFromInline
    init(_ values: [Value]) {
        self.values = values
    }
}

/// ``JoinRecords`` as stored: a count (u32 big endian), then each value's length (u32 big
/// endian) and bytes.
@usableFromInline
struct JoinRecordsSerde<Value>: Serde {
    @usableFromInline let wrapped: AnySerde<Value>

    @usableFromInline
    init(_ wrapped: AnySerde<Value>) {
        self.wrapped = wrapped
    }

    @usableFromInline
    func serialize(_ records: JoinRecords<Value>, into bytes: inout [UInt8]) throws {
        withUnsafeBytes(of: UInt32(records.values.count).bigEndian) { bytes.append(contentsOf: $0) }
        for value in records.values {
            guard try appendLengthPrefixed(to: &bytes, { try wrapped.encode(value, &$0) }) else { throw SerdeError.unexpectedNull }
        }
    }

    @usableFromInline
    func deserialize(_ bytes: UnsafeRawBufferPointer) throws -> JoinRecords<Value> {
        let count = try readLength(bytes, at: 0)
        var offset = 4
        var values: [Value] = []
        values.reserveCapacity(count)
        for _ in 0..<count {
            let framed = try readLengthPrefixed(bytes, at: offset)
            values.append(try wrapped.decode(framed.bytes))
            offset = framed.next
        }
        return JoinRecords(values)
    }
}

extension JoinRecords: SerdeDerivedFromDefault {
    @usableFromInline
    static func derivedSerde(from fallback: any Serde) -> Any? {
        guard let typed = fallback as? any Serde<Value> else { return nil }
        return AnySerde(JoinRecordsSerde(AnySerde(typed)))
    }
}
