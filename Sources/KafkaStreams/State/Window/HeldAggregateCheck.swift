/// Encodes each aggregate held above the record cache as it is made, into a buffer then
/// dropped, so that a value its serde rejects fails the record that made it, as when the
/// bytes were kept (the window and session stores' held updates). One of the library's own
/// serdes for numbers, text and bytes takes every value: nothing to check.
@usableFromInline
struct HeldAggregateCheck<Value> {
    @usableFromInline let serde: AnySerde<Value>
    @usableFromInline let serdeMayReject: Bool
    @usableFromInline var buffer: [UInt8] = []

    init(serde: AnySerde<Value>) {
        self.serde = serde
        serdeMayReject = !(serde.base is SerdeTakingEveryValue)
    }

    /// Whether `value` encodes as a value (false: as null); throws what its serde throws.
    @inlinable
    mutating func encodes(_ value: Value) throws -> Bool {
        guard serdeMayReject else { return true }
        buffer.removeAll(keepingCapacity: true)
        return try serde.encode(value, &buffer)
    }
}
