/// A topic a node reads or writes: a user topic, or an internal one whose real name is
/// prefixed with the application id (`<applicationId>-<name>`).
@usableFromInline
enum TopicName: Sendable, Hashable, CustomStringConvertible {
    case external(String)
    case `internal`(String)

    @usableFromInline
    func resolved(applicationID: String) -> String {
        switch self {
        case .external(let name): name
        case .internal(let name): "\(applicationID)-\(name)"
        }
    }

    var isInternal: Bool { if case .internal = self { true } else { false } }

    @usableFromInline
    var description: String {
        switch self {
        case .external(let name), .internal(let name): name
        }
    }
}

/// A key and value type pair, compared when nodes are connected.
@usableFromInline
struct TypeSignature: Sendable, Hashable, CustomStringConvertible {
    let key: ObjectIdentifier
    let value: ObjectIdentifier
    @usableFromInline let description: String

    @usableFromInline
    init<Key, Value>(_ key: Key.Type, _ value: Value.Type) {
        self.key = ObjectIdentifier(key)
        self.value = ObjectIdentifier(value)
        description = "(\(key), \(value))"
    }
}
