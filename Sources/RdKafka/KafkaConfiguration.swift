/// Client configuration: typed properties for the common settings plus a
/// `[String: String]` escape hatch for every other librdkafka property
/// (see librdkafka's CONFIGURATION.md).
///
/// Typed properties are views over the same dictionary, so setting `acks` and setting
/// `configuration["acks"]` are the same thing. Nothing is checked until a client is
/// created (or ``validate()`` is called): then a bad key or value throws a
/// ``KafkaError`` naming the key. Secret values never appear in ``description``, in logs or
/// in errors.
public struct KafkaConfiguration: Sendable, CustomStringConvertible {
    /// Every property, as librdkafka names it.
    public private(set) var properties: [String: String]

    public init(properties: [String: String] = [:]) {
        self.properties = properties
    }

    /// Any librdkafka property by name; `nil` removes it.
    public subscript(key: String) -> String? {
        get { properties[key] }
        set { properties[key] = newValue }
    }

    /// Merges `other` into this configuration; its values win.
    public func merging(_ other: [String: String]) -> KafkaConfiguration {
        var copy = self
        copy.properties.merge(other) { _, new in new }
        return copy
    }

    /// The properties with secret values replaced by `[redacted]`, sorted by key.
    public var description: String {
        let items = properties.keys.sorted().map { key in
            "\(key)=\(Self.isSecret(key) ? "[redacted]" : properties[key]!)"
        }
        return "KafkaConfiguration(\(items.joined(separator: ", ")))"
    }

    /// Checks every key and value with librdkafka without creating a client.
    public func validate() throws(KafkaError) {
        let native = try NativeConfiguration(self)
        native.destroy()
    }

    /// `message` with the value of every secret property replaced by `[redacted]`, for
    /// errors built from librdkafka text that may echo a value.
    func redactingSecrets(in message: String) -> String {
        var redacted = message
        for (key, value) in properties where Self.isSecret(key) && !value.isEmpty {
            redacted = redacted.replacing(value, with: "[redacted]")
        }
        return redacted
    }

    /// Whether a property holds a secret (passwords, private keys, tokens).
    public static func isSecret(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return lowered.contains("password") || lowered.contains("secret")
            || lowered == "ssl.key.pem" || lowered == "sasl.oauthbearer.config"
            || lowered.hasPrefix("ssl_key")
    }
}

// MARK: - Typed properties

extension KafkaConfiguration {
    /// `acks`: how many replicas must acknowledge a produced record.
    public enum Acks: String, Sendable {
        case none = "0"
        case leader = "1"
        case all = "all"
    }

    /// `isolation.level` of a consumer.
    public enum IsolationLevel: String, Sendable {
        case readUncommitted = "read_uncommitted"
        case readCommitted = "read_committed"
    }

    /// `security.protocol`.
    public enum SecurityProtocol: String, Sendable {
        case plaintext
        case ssl
        case saslPlaintext = "sasl_plaintext"
        case saslSSL = "sasl_ssl"
    }

    /// `sasl.mechanism`.
    public enum SASLMechanism: String, Sendable {
        case plain = "PLAIN"
        case scramSHA256 = "SCRAM-SHA-256"
        case scramSHA512 = "SCRAM-SHA-512"
        case oauthBearer = "OAUTHBEARER"
        case gssapi = "GSSAPI"
    }

    /// `partition.assignment.strategy` of a group consumer.
    public enum AssignmentStrategy: String, Sendable {
        /// Eager: all partitions are revoked on every rebalance. Keeps equal partition
        /// numbers of equally partitioned topics on one member (co-partitioning).
        case range
        case roundRobin = "roundrobin"
        /// Incremental (KIP-429): only moved partitions are revoked.
        case cooperativeSticky = "cooperative-sticky"
    }

    /// `bootstrap.servers`: `host:port` pairs.
    public var bootstrapServers: [String]? {
        get { properties["bootstrap.servers"]?.split(separator: ",").map { String($0) } }
        set { properties["bootstrap.servers"] = newValue?.joined(separator: ",") }
    }

    /// `client.id`.
    public var clientID: String? {
        get { properties["client.id"] }
        set { properties["client.id"] = newValue }
    }

    /// `group.id` of a group consumer.
    public var groupID: String? {
        get { properties["group.id"] }
        set { properties["group.id"] = newValue }
    }

    /// `acks` of a producer.
    public var acks: Acks? {
        get { properties["acks"].flatMap { $0 == "-1" ? .all : Acks(rawValue: $0) } }
        set { properties["acks"] = newValue?.rawValue }
    }

    /// `enable.idempotence` of a producer.
    public var enableIdempotence: Bool? {
        get { properties["enable.idempotence"].map { $0 == "true" } }
        set { properties["enable.idempotence"] = newValue.map { $0 ? "true" : "false" } }
    }

    /// `transactional.id` of a transactional producer.
    public var transactionalID: String? {
        get { properties["transactional.id"] }
        set { properties["transactional.id"] = newValue }
    }

    /// `isolation.level` of a consumer.
    public var isolationLevel: IsolationLevel? {
        get { properties["isolation.level"].flatMap(IsolationLevel.init(rawValue:)) }
        set { properties["isolation.level"] = newValue?.rawValue }
    }

    /// `enable.auto.commit` of a group consumer.
    public var enableAutoCommit: Bool? {
        get { properties["enable.auto.commit"].map { $0 == "true" } }
        set { properties["enable.auto.commit"] = newValue.map { $0 ? "true" : "false" } }
    }

    /// `auto.offset.reset`: where a consumer starts without a committed offset
    /// (`earliest`, `latest`, `error`).
    public var autoOffsetReset: String? {
        get { properties["auto.offset.reset"] }
        set { properties["auto.offset.reset"] = newValue }
    }

    /// `session.timeout.ms` of a group consumer.
    public var sessionTimeout: Duration? {
        get { properties["session.timeout.ms"].flatMap { Int64($0) }.map { .milliseconds($0) } }
        set { properties["session.timeout.ms"] = newValue.map { String($0.wholeMilliseconds) } }
    }

    /// `partition.assignment.strategy` of a group consumer.
    public var assignmentStrategy: AssignmentStrategy? {
        get { properties["partition.assignment.strategy"].flatMap(AssignmentStrategy.init(rawValue:)) }
        set { properties["partition.assignment.strategy"] = newValue?.rawValue }
    }

    /// `security.protocol`.
    public var securityProtocol: SecurityProtocol? {
        get { properties["security.protocol"].flatMap { SecurityProtocol(rawValue: $0.lowercased()) } }
        set { properties["security.protocol"] = newValue?.rawValue }
    }

    /// `sasl.mechanism`.
    public var saslMechanism: SASLMechanism? {
        get { properties["sasl.mechanism"].flatMap(SASLMechanism.init(rawValue:)) }
        set { properties["sasl.mechanism"] = newValue?.rawValue }
    }

    /// `sasl.username`.
    public var saslUsername: String? {
        get { properties["sasl.username"] }
        set { properties["sasl.username"] = newValue }
    }

    /// `sasl.password` (a secret: redacted in descriptions, logs and errors).
    public var saslPassword: String? {
        get { properties["sasl.password"] }
        set { properties["sasl.password"] = newValue }
    }

    /// `ssl.ca.location`: CA certificate file or directory to verify the broker with.
    public var sslCALocation: String? {
        get { properties["ssl.ca.location"] }
        set { properties["ssl.ca.location"] = newValue }
    }

    /// `ssl.certificate.location`: the client's certificate (mutual TLS).
    public var sslCertificateLocation: String? {
        get { properties["ssl.certificate.location"] }
        set { properties["ssl.certificate.location"] = newValue }
    }

    /// `ssl.key.location`: the client's private key (mutual TLS).
    public var sslKeyLocation: String? {
        get { properties["ssl.key.location"] }
        set { properties["ssl.key.location"] = newValue }
    }

    /// `ssl.key.password` (a secret).
    public var sslKeyPassword: String? {
        get { properties["ssl.key.password"] }
        set { properties["ssl.key.password"] = newValue }
    }
}

extension Duration {
    /// The duration in whole milliseconds (rounded toward zero), as Kafka settings take it.
    package var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// The duration in seconds, fractions included (for rates and reports).
    package var fractionalSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    var clampedMilliseconds: Int32 {
        Int32(clamping: wholeMilliseconds)
    }
}
