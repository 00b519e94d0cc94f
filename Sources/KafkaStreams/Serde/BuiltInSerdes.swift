import Foundation

/// UTF-8 text.
public struct StringSerde: Serde {
    @inlinable
    public init() {}

    @inlinable
    public func serialize(_ value: String, into bytes: inout [UInt8]) throws {
        bytes.append(contentsOf: value.utf8)
    }

    @inlinable
    public func deserialize(_ bytes: UnsafeRawBufferPointer) throws -> String {
        // Not `String(validating:as:)`: it is generic over the encoding inside the standard
        // library and looks up type metadata on every call. Decoding repairs invalid UTF-8
        // (with U+FFFD), and keeps valid UTF-8 byte for byte: the bytes come back unchanged
        // exactly when they were valid.
        let units = bytes.assumingMemoryBound(to: UInt8.self)
        var string = String(decoding: units, as: UTF8.self)
        let unchanged = string.withUTF8 { decoded in
            decoded.count == units.count && (units.isEmpty || memcmp(decoded.baseAddress!, units.baseAddress!, units.count) == 0)
        }
        guard unchanged else { throw SerdeError.invalidUTF8 }
        return string
    }
}

/// The bytes as they are.
public struct BytesSerde: Serde {
    @inlinable
    public init() {}

    @inlinable
    public func serialize(_ value: [UInt8], into bytes: inout [UInt8]) throws {
        bytes.append(contentsOf: value)
    }

    @inlinable
    public func deserialize(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8] { Array(bytes) }
}

/// A fixed-width integer in Kafka's layout (big-endian two's complement), as Kafka's
/// `IntegerSerializer`, `LongSerializer` write them.
public struct BigEndianIntegerSerde<Value: FixedWidthInteger & Sendable>: Serde {
    @inlinable
    public init() {}

    @inlinable
    public func serialize(_ value: Value, into bytes: inout [UInt8]) throws {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    @inlinable
    public func deserialize(_ bytes: UnsafeRawBufferPointer) throws -> Value {
        let size = MemoryLayout<Value>.size
        guard bytes.count == size else { throw SerdeError.wrongSize(expected: size, actual: bytes.count) }
        return Value(bigEndian: bytes.loadUnaligned(as: Value.self))
    }
}

/// An IEEE 754 double in Kafka's layout (the big-endian bit pattern), as Kafka's
/// `DoubleSerializer` writes it.
public struct DoubleSerde: Serde {
    @inlinable
    public init() {}

    @inlinable
    public func serialize(_ value: Double, into bytes: inout [UInt8]) throws {
        try BigEndianIntegerSerde<UInt64>().serialize(value.bitPattern, into: &bytes)
    }

    @inlinable
    public func deserialize(_ bytes: UnsafeRawBufferPointer) throws -> Double {
        Double(bitPattern: try BigEndianIntegerSerde<UInt64>().deserialize(bytes))
    }
}

/// A `Codable` value as JSON (keys sorted, slashes unescaped, so equal values encode to
/// equal bytes).
public struct JSONSerde<Value: Codable>: Serde {
    @inlinable
    public init(_ type: Value.Type = Value.self) {}

    @inlinable
    public func serialize(_ value: Value, into bytes: inout [UInt8]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            bytes.append(contentsOf: try encoder.encode(value))
        } catch {
            throw SerdeError.invalidJSON(String(describing: error))
        }
    }

    @inlinable
    public func deserialize(_ bytes: UnsafeRawBufferPointer) throws -> Value {
        do {
            return try JSONDecoder().decode(Value.self, from: Data(bytes))
        } catch {
            throw SerdeError.invalidJSON(String(describing: error))
        }
    }
}

/// Makes null bytes (a null key, a tombstone) decode to `nil`, and `nil` encode to null.
public struct OptionalSerde<Wrapped: Serde>: Serde {
    public let wrapped: Wrapped

    @inlinable
    public init(_ wrapped: Wrapped) { self.wrapped = wrapped }

    @inlinable
    public func serialize(_ value: Wrapped.Value?, into bytes: inout [UInt8]) throws {
        guard let value else { return }
        try wrapped.serialize(value, into: &bytes)
    }

    @inlinable
    public func isNull(_ value: Wrapped.Value?) -> Bool {
        // Not `value.map(wrapped.isNull)`: unspecialized (behind `any Serde`), the closure
        // costs a generic metadata lookup per record.
        guard let value else { return true }
        return wrapped.isNull(value)
    }

    @inlinable
    public func deserialize(_ bytes: UnsafeRawBufferPointer) throws -> Wrapped.Value? {
        try wrapped.deserialize(bytes)
    }

    @inlinable
    public func deserializeNull() throws -> Wrapped.Value? { nil }
}

extension Serde where Self == StringSerde {
    /// UTF-8 text.
    @inlinable
    public static var string: StringSerde { StringSerde() }
}

extension Serde where Self == BytesSerde {
    /// The bytes as they are.
    @inlinable
    public static var bytes: BytesSerde { BytesSerde() }
}

extension Serde where Self == BigEndianIntegerSerde<Int32> {
    /// A 4-byte big-endian integer (Kafka's `IntegerSerde`).
    @inlinable
    public static var int32: Self { Self() }
}

extension Serde where Self == BigEndianIntegerSerde<Int64> {
    /// An 8-byte big-endian integer (Kafka's `LongSerde`).
    @inlinable
    public static var int64: Self { Self() }
}

extension Serde where Self == BigEndianIntegerSerde<UInt64> {
    /// An 8-byte big-endian unsigned integer.
    @inlinable
    public static var uint64: Self { Self() }
}

extension Serde where Self == DoubleSerde {
    /// An 8-byte big-endian IEEE 754 double (Kafka's `DoubleSerde`).
    @inlinable
    public static var double: DoubleSerde { DoubleSerde() }
}

extension Serde {
    /// `Codable` values as JSON: `.json(Click.self)`.
    @inlinable
    public static func json<Value: Codable>(_ type: Value.Type) -> Self where Self == JSONSerde<Value> {
        JSONSerde(type)
    }

    /// Accepts null bytes as `nil`: `.optional(.string)`.
    @inlinable
    public static func optional<Wrapped: Serde>(_ wrapped: Wrapped) -> Self where Self == OptionalSerde<Wrapped> {
        OptionalSerde(wrapped)
    }
}

/// A serde that writes every value and rejects none (never throws, never null): a store
/// that keeps values decoded need not encode each new one just to learn whether its serde
/// takes it (see ``HeldAggregateCheck``).
@usableFromInline
protocol SerdeTakingEveryValue {}

extension StringSerde: SerdeTakingEveryValue {}
extension BytesSerde: SerdeTakingEveryValue {}
extension BigEndianIntegerSerde: SerdeTakingEveryValue {}
extension DoubleSerde: SerdeTakingEveryValue {}
