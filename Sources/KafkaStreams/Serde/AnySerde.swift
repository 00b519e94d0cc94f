/// Any serde of `Value`, so DSL operations can take a serde or none (`nil`: inherit one or
/// use the configured default) and still offer `.string`, `.json(T.self)`, `.optional(...)`.
///
/// Wrap a serde of your own with ``init(_:)``: `value: AnySerde(ProtobufSerde<Order>())`.
public struct AnySerde<Value>: Serde {
    /// The wrapped serde.
    public let base: any Serde<Value>

    public init(_ serde: some Serde<Value>) {
        base = (serde as? AnySerde<Value>)?.base ?? serde
    }

    public func serialize(_ value: Value, into bytes: inout [UInt8]) throws { try base.serialize(value, into: &bytes) }
    public func isNull(_ value: Value) -> Bool { base.isNull(value) }
    public func deserialize(_ bytes: UnsafeRawBufferPointer) throws -> Value { try base.deserialize(bytes) }
    public func deserializeNull() throws -> Value { try base.deserializeNull() }
}

extension AnySerde where Value == String {
    /// UTF-8 text.
    public static var string: AnySerde { AnySerde(StringSerde()) }
}

extension AnySerde where Value == [UInt8] {
    /// The bytes as they are.
    public static var bytes: AnySerde { AnySerde(BytesSerde()) }
}

extension AnySerde where Value == Int32 {
    /// A 4-byte big-endian integer (Kafka's `IntegerSerde`).
    public static var int32: AnySerde { AnySerde(BigEndianIntegerSerde<Int32>()) }
}

extension AnySerde where Value == Int64 {
    /// An 8-byte big-endian integer (Kafka's `LongSerde`).
    public static var int64: AnySerde { AnySerde(BigEndianIntegerSerde<Int64>()) }
}

extension AnySerde where Value == UInt64 {
    /// An 8-byte big-endian unsigned integer.
    public static var uint64: AnySerde { AnySerde(BigEndianIntegerSerde<UInt64>()) }
}

extension AnySerde where Value == Double {
    /// An 8-byte big-endian IEEE 754 double (Kafka's `DoubleSerde`).
    public static var double: AnySerde { AnySerde(DoubleSerde()) }
}

extension AnySerde where Value: Codable {
    /// `Codable` values as JSON.
    public static func json(_ type: Value.Type) -> AnySerde { AnySerde(JSONSerde(type)) }
}

extension AnySerde {
    /// Accepts null bytes as `nil`: `.optional(.string)`.
    public static func optional<Wrapped>(_ wrapped: AnySerde<Wrapped>) -> AnySerde where Value == Wrapped? {
        AnySerde(OptionalSerde(wrapped))
    }
}
