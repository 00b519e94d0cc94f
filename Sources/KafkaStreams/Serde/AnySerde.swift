/// Any serde of `Value`, so DSL operations can take a serde or none (`nil`: inherit one or
/// use the configured default) and still offer `.string`, `.json(T.self)`, `.optional(...)`.
///
/// Wrap a serde of your own with ``init(_:)``: `value: AnySerde(ProtobufSerde<Order>())`.
public struct AnySerde<Value>: Serde {
    /// The wrapped serde.
    public let base: any Serde<Value>
    // The per-record paths of sources and sinks, as closures made where the wrapped serde's
    // type is known (the initializers are inlinable, so that is the caller's module): they
    // run specialized code, where calls through `base` would run generic code that looks up
    // type metadata for every record.
    /// Appends the encoding of a value and returns true, or returns false for null.
    @usableFromInline let encode: @Sendable (Value, inout [UInt8]) throws -> Bool
    /// Decodes bytes that may be null.
    @usableFromInline let decode: @Sendable (UnsafeRawBufferPointer?) throws -> Value

    @inlinable
    public init(_ serde: some Serde<Value>) {
        if let erased = serde as? AnySerde<Value> {
            self = erased
            return
        }
        self.init(
            base: serde,
            encode: { value, bytes in
                if serde.isNull(value) { return false }
                try serde.serialize(value, into: &bytes)
                return true
            },
            decode: { bytes in
                guard let bytes else { return try serde.deserializeNull() }
                return try serde.deserialize(bytes)
            })
    }

    @usableFromInline
    init(
        base: any Serde<Value>, encode: @escaping @Sendable (Value, inout [UInt8]) throws -> Bool,
        decode: @escaping @Sendable (UnsafeRawBufferPointer?) throws -> Value
    ) {
        self.base = base
        self.encode = encode
        self.decode = decode
    }

    @inlinable
    public func serialize(_ value: Value, into bytes: inout [UInt8]) throws { try base.serialize(value, into: &bytes) }
    @inlinable
    public func isNull(_ value: Value) -> Bool { base.isNull(value) }
    @inlinable
    public func deserialize(_ bytes: UnsafeRawBufferPointer) throws -> Value { try decode(bytes) }
    @inlinable
    public func deserializeNull() throws -> Value { try decode(nil) }
}

extension AnySerde where Value == String {
    /// UTF-8 text.
    @inlinable
    public static var string: AnySerde { AnySerde(StringSerde()) }
}

extension AnySerde where Value == [UInt8] {
    /// The bytes as they are.
    @inlinable
    public static var bytes: AnySerde { AnySerde(BytesSerde()) }
}

extension AnySerde where Value == Int32 {
    /// A 4-byte big-endian integer (Kafka's `IntegerSerde`).
    @inlinable
    public static var int32: AnySerde { AnySerde(BigEndianIntegerSerde<Int32>()) }
}

extension AnySerde where Value == Int64 {
    /// An 8-byte big-endian integer (Kafka's `LongSerde`).
    @inlinable
    public static var int64: AnySerde { AnySerde(BigEndianIntegerSerde<Int64>()) }
}

extension AnySerde where Value == UInt64 {
    /// An 8-byte big-endian unsigned integer.
    @inlinable
    public static var uint64: AnySerde { AnySerde(BigEndianIntegerSerde<UInt64>()) }
}

extension AnySerde where Value == Double {
    /// An 8-byte big-endian IEEE 754 double (Kafka's `DoubleSerde`).
    @inlinable
    public static var double: AnySerde { AnySerde(DoubleSerde()) }
}

extension AnySerde where Value: Codable {
    /// `Codable` values as JSON.
    @inlinable
    public static func json(_ type: Value.Type) -> AnySerde { AnySerde(JSONSerde(type)) }
}

extension AnySerde {
    /// Accepts null bytes as `nil`: `.optional(.string)`.
    @inlinable
    public static func optional<Wrapped>(_ wrapped: AnySerde<Wrapped>) -> AnySerde where Value == Wrapped? {
        AnySerde(
            base: OptionalSerde(wrapped),
            encode: { value, bytes in
                guard let value else { return false }
                return try wrapped.encode(value, &bytes)
            },
            decode: { bytes in
                guard let bytes else { return nil }
                return try wrapped.decode(bytes)
            })
    }
}
