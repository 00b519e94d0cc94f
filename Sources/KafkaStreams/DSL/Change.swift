/// An update of one key of a table, as table operators hand it to each other: the key's new
/// value (`nil`: deleted) and the value it replaces.
///
/// The old value is there only when an operator downstream asked for it (a table
/// aggregation subtracts it from the group the key leaves; a table join retracts the
/// result it gave); otherwise it is `nil`, as in Kafka Streams, so a table nobody asks
/// reads no old values.
public struct Change<Value> {
    /// The key's value after the update; `nil` when the update deleted it.
    public var newValue: Value?
    /// The key's value before the update, when the table sends old values.
    public var oldValue: Value?

    @inlinable
    public init(newValue: Value?, oldValue: Value?) {
        self.newValue = newValue
        self.oldValue = oldValue
    }
}

extension Change: Sendable where Value: Sendable {}
extension Change: Equatable where Value: Equatable {}
extension Change: Hashable where Value: Hashable {}

extension Change: CustomStringConvertible {
    /// `(new<-old)`, as Kafka Streams prints a change.
    public var description: String {
        "(\(newValue.map { "\($0)" } ?? "null")<-\(oldValue.map { "\($0)" } ?? "null"))"
    }
}
