/// A table's ``Change`` as it crosses a repartition topic (a table `groupBy`): a flags byte
/// (bit 0: a new value follows, bit 1: an old value), the new value's length (u32 big
/// endian) when present, the new value's bytes, then the old value's. Internal to an
/// application: only its own tasks read these topics.
public struct ChangeSerde<Value>: Serde {
    public let wrapped: AnySerde<Value>

    @inlinable
    public init(_ wrapped: AnySerde<Value>) {
        self.wrapped = wrapped
    }

    public func serialize(_ change: Change<Value>, into bytes: inout [UInt8]) throws {
        let flagsAt = bytes.count
        bytes.append(0)
        var flags: UInt8 = 0
        if let newValue = change.newValue, try appendLengthPrefixed(to: &bytes, { try wrapped.encode(newValue, &$0) }) { flags |= 1 }
        if let oldValue = change.oldValue, try wrapped.encode(oldValue, &bytes) { flags |= 2 }
        bytes[flagsAt] = flags
    }

    public func deserialize(_ bytes: UnsafeRawBufferPointer) throws -> Change<Value> {
        guard let flags = bytes.first, flags & ~3 == 0 else { throw SerdeError.wrongSize(expected: 1, actual: bytes.count) }
        var offset = 1
        var newValue: Value?
        if flags & 1 != 0 {
            let framed = try readLengthPrefixed(bytes, at: offset)
            newValue = try wrapped.decode(framed.bytes)
            offset = framed.next
        }
        let oldValue = flags & 2 != 0 ? try wrapped.decode(UnsafeRawBufferPointer(rebasing: bytes[offset...])) : nil
        return Change(newValue: newValue, oldValue: oldValue)
    }
}

extension AnySerde {
    /// Table changes of values `wrapped` serializes (see ``ChangeSerde``).
    @inlinable
    public static func change<Wrapped>(_ wrapped: AnySerde<Wrapped>) -> AnySerde where Value == Change<Wrapped> {
        AnySerde(ChangeSerde(wrapped))
    }
}

/// A type whose serde wraps the serde of another type, so that it can be made from the
/// configured default serde when an operation was given none: a table's changes (over a
/// repartition topic), an optional value (a table's tombstones).
@usableFromInline
protocol SerdeDerivedFromDefault {
    /// `AnySerde<Self>` over `fallback`, if `fallback` serializes the wrapped type.
    static func derivedSerde(from fallback: any Serde) -> Any?
}

extension Change: SerdeDerivedFromDefault {
    @usableFromInline
    static func derivedSerde(from fallback: any Serde) -> Any? {
        guard let typed = fallback as? any Serde<Value> else { return nil }
        return AnySerde<Change<Value>>.change(AnySerde(typed))
    }
}

extension Optional: SerdeDerivedFromDefault {
    @usableFromInline
    static func derivedSerde(from fallback: any Serde) -> Any? {
        guard let typed = fallback as? any Serde<Wrapped> else { return nil }
        return AnySerde<Wrapped?>.optional(AnySerde(typed))
    }
}
