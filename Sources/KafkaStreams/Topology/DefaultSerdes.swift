/// The serdes a node falls back to when it was given none and inherited none.
@usableFromInline
struct DefaultSerdes: Sendable {
    var key: (any Serde)?
    var value: (any Serde)?

    @usableFromInline
    func resolve<T>(_ explicit: AnySerde<T>?, key isKey: Bool, node: String) throws -> AnySerde<T> {
        if let explicit { return explicit }
        let fallback = isKey ? key : value
        if let typed = fallback as? any Serde<T> { return AnySerde(typed) }
        if let fallback, let derived = (T.self as? any SerdeDerivedFromDefault.Type)?.derivedSerde(from: fallback) as? AnySerde<T> {
            return derived
        }
        let part = isKey ? "key" : "value"
        let reason = fallback.map { "the default \(part) serde \(type(of: $0)) does not handle it" } ?? "no default \(part) serde is configured"
        throw StreamsError(
            .configuration,
            "node \(node) needs a \(part) serde for \(T.self) but was given none, and \(reason): pass `\(part): ...` to the operation or set the configuration's default\(isKey ? "Key" : "Value")Serde")
    }
}
