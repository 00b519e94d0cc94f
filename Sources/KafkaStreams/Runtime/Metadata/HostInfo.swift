/// Where an application instance answers interactive queries: the endpoint it declared
/// in ``StreamsConfiguration/applicationServer`` (Kafka Streams' `HostInfo`).
public struct HostInfo: Sendable, Hashable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` (an IPv6 host in brackets: `[::1]:8080`); nil if it is not one.
    public init?(parsing endpoint: String) {
        guard let colon = endpoint.lastIndex(of: ":"), let port = Int(endpoint[endpoint.index(after: colon)...]),
            (1...65_535).contains(port)
        else { return nil }
        var host = String(endpoint[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains(where: \.isWhitespace) else { return nil }
        self.init(host: host, port: port)
    }

    /// `host:port`, as configured.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Which instance holds a key of a store (Kafka Streams' `KeyQueryMetadata`).
public struct KeyQueryMetadata: Sendable, Hashable {
    /// The instance whose active task holds the key's partition.
    public let activeHost: HostInfo
    /// The partition of the store (and of its task's input) the key belongs to.
    public let partition: Int32
}

/// One running instance of the application, as the others see it (Kafka Streams'
/// `StreamsMetadata`).
public struct StreamsMetadata: Sendable, Hashable {
    public let hostInfo: HostInfo
    /// The stores of the tasks the instance runs (global stores not included).
    public let stateStoreNames: Set<String>
    /// The tasks the instance runs: task `s_p` reads partition `p` of sub-topology `s`'s
    /// input topics.
    public let activeTasks: Set<TaskID>
}
