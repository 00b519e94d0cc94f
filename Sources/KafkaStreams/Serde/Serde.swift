/// Converts values to and from the bytes of a Kafka record's key or value.
///
/// A serde sees one record at a time on a stream thread; it must be stateless or
/// thread-safe. `nil` bytes (a null key, or a tombstone value) only decode through a
/// serde whose `Value` can hold them: wrap a serde in ``Serde/optional(_:)`` (for example
/// `.optional(.string)`) to read null keys or tombstones; any other serde reports them as a
/// ``SerdeError/unexpectedNull`` error, handled like every other deserialization error.
public protocol Serde<Value>: Sendable {
    associatedtype Value

    /// Appends the encoding of `value` to `bytes` (which the caller may reuse between
    /// records, so it is not necessarily empty on entry).
    func serialize(_ value: Value, into bytes: inout [UInt8]) throws

    /// Whether `value` is encoded as null bytes (a null key or a tombstone) rather than
    /// through ``serialize(_:into:)``.
    func isNull(_ value: Value) -> Bool

    /// Decodes non-null bytes, which are valid only during the call.
    func deserialize(_ bytes: UnsafeRawBufferPointer) throws -> Value

    /// Decodes null bytes.
    func deserializeNull() throws -> Value
}

extension Serde {
    public func isNull(_ value: Value) -> Bool { false }

    public func deserializeNull() throws -> Value { throw SerdeError.unexpectedNull }

    /// The encoding of `value`, or `nil` for null.
    public func serialize(_ value: Value) throws -> [UInt8]? {
        if isNull(value) { return nil }
        var bytes: [UInt8] = []
        try serialize(value, into: &bytes)
        return bytes
    }

    /// Decodes bytes that may be null.
    public func deserialize(_ bytes: UnsafeRawBufferPointer?) throws -> Value {
        guard let bytes else { return try deserializeNull() }
        return try deserialize(bytes)
    }

    /// Decodes owned bytes that may be null.
    public func deserialize(_ bytes: [UInt8]?) throws -> Value {
        guard let bytes else { return try deserializeNull() }
        return try bytes.withUnsafeBytes { try deserialize($0) }
    }
}

/// Why bytes could not be converted.
public enum SerdeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Null bytes reached a serde whose values cannot be null.
    case unexpectedNull
    /// A fixed-width number had the wrong number of bytes.
    case wrongSize(expected: Int, actual: Int)
    /// The bytes were not valid UTF-8.
    case invalidUTF8
    /// JSON could not be decoded or encoded; `message` is the decoder's explanation.
    case invalidJSON(String)
    /// The bytes are in a format this build does not read (an internal message of a
    /// newer version, say); `message` says which.
    case unsupportedFormat(String)

    public var description: String {
        switch self {
        case .unexpectedNull: "null bytes for a serde that cannot hold null (wrap it in .optional(...) to accept null keys or tombstones)"
        case .wrongSize(let expected, let actual): "expected \(expected) bytes, got \(actual)"
        case .invalidUTF8: "bytes are not valid UTF-8"
        case .invalidJSON(let message): "invalid JSON: \(message)"
        case .unsupportedFormat(let message): "unsupported format: \(message)"
        }
    }
}
