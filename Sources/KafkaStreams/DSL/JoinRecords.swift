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
            let lengthAt = bytes.count
            bytes.append(contentsOf: [0, 0, 0, 0])
            guard try wrapped.encode(value, &bytes) else { throw SerdeError.unexpectedNull }
            let length = UInt32(bytes.count - lengthAt - 4).bigEndian
            withUnsafeBytes(of: length) { bytes.replaceSubrange(lengthAt..<lengthAt + 4, with: $0) }
        }
    }

    @usableFromInline
    func deserialize(_ bytes: UnsafeRawBufferPointer) throws -> JoinRecords<Value> {
        var offset = 0
        func readLength() throws -> Int {
            guard bytes.count - offset >= 4 else { throw SerdeError.wrongSize(expected: offset + 4, actual: bytes.count) }
            defer { offset += 4 }
            return Int(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        }
        let count = try readLength()
        var values: [Value] = []
        values.reserveCapacity(count)
        for _ in 0..<count {
            let length = try readLength()
            guard bytes.count - offset >= length else { throw SerdeError.wrongSize(expected: offset + length, actual: bytes.count) }
            values.append(try wrapped.decode(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])))
            offset += length
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
