import CRdKafka

/// An error reported by librdkafka, the broker, or this wrapper.
///
/// Every error carries a ``Classification`` so callers can decide what to do without
/// knowing individual codes: retry the call, abort the current transaction, or give up
/// on the client.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// What a caller should do about an error.
    public enum Classification: String, Sendable {
        /// Transient: the same call may succeed if repeated.
        case retriable
        /// The current transaction can no longer commit: abort it, then carry on.
        case abortable
        /// The client instance is unusable: close it and create a new one.
        case fatal
        /// Neither retrying nor aborting helps (bad input, unsupported operation, ...).
        case permanent
    }

    /// librdkafka's error code (wrapper-specific conditions use ``KafkaErrorCode/wrapper``).
    public let code: KafkaErrorCode
    /// A human-readable explanation. Never contains secrets.
    public let message: String
    public let classification: Classification
    /// The configuration key at fault, for configuration errors.
    public let configurationKey: String?

    public init(
        code: KafkaErrorCode,
        message: String,
        classification: Classification? = nil,
        configurationKey: String? = nil
    ) {
        self.code = code
        self.message = message
        self.classification = classification ?? code.defaultClassification
        self.configurationKey = configurationKey
    }

    public var isRetriable: Bool { classification == .retriable }
    public var isFatal: Bool { classification == .fatal }
    public var requiresAbort: Bool { classification == .abortable }

    public var description: String {
        var text = "KafkaError(\(code.name), \(classification.rawValue)"
        if let configurationKey { text += ", key: \(configurationKey)" }
        return text + "): \(message)"
    }
}

extension KafkaError {
    /// A configuration key or value that librdkafka rejected.
    static func configuration(key: String, message: String) -> KafkaError {
        KafkaError(
            code: .invalidArgument,
            message: "invalid configuration '\(key)': \(message)",
            classification: .permanent,
            configurationKey: key
        )
    }

    /// An operation that librdkafka's in-process mock cluster cannot serve.
    static func unsupportedByMockCluster(_ operation: String, hint: String) -> KafkaError {
        KafkaError(
            code: .notImplemented,
            message: "\(operation) is not supported by librdkafka's mock cluster (the embedded broker): \(hint)",
            classification: .permanent
        )
    }

    /// Wraps a plain response code, consulting the handle for the underlying fatal error.
    init(code raw: rd_kafka_resp_err_t, handle: OpaquePointer? = nil, context: String? = nil) {
        var code = KafkaErrorCode(rawValue: raw.rawValue)
        var detail = code.text
        var classification: Classification?
        if raw == RD_KAFKA_RESP_ERR__FATAL, let handle {
            var buffer = [CChar](repeating: 0, count: 512)
            let original = rd_kafka_fatal_error(handle, &buffer, buffer.count)
            code = KafkaErrorCode(rawValue: original.rawValue)
            detail = String(cStringBuffer: buffer)
            classification = .fatal
        }
        let message = context.map { "\($0): \(detail)" } ?? detail
        self.init(code: code, message: message, classification: classification)
    }

    /// Takes ownership of (and destroys) a librdkafka error object.
    init(consuming error: OpaquePointer, context: String? = nil) {
        defer { rd_kafka_error_destroy(error) }
        let code = KafkaErrorCode(rawValue: rd_kafka_error_code(error).rawValue)
        let detail = rd_kafka_error_string(error).map { String(cString: $0) } ?? code.text
        let classification: Classification
        if rd_kafka_error_is_fatal(error) != 0 {
            classification = .fatal
        } else if rd_kafka_error_txn_requires_abort(error) != 0 {
            classification = .abortable
        } else if rd_kafka_error_is_retriable(error) != 0 {
            classification = .retriable
        } else {
            classification = code.defaultClassification
        }
        let message = context.map { "\($0): \(detail)" } ?? detail
        self.init(code: code, message: message, classification: classification)
    }

    /// Throws when a librdkafka call returned an error object.
    static func check(_ error: OpaquePointer?, context: String) throws(KafkaError) {
        if let error { throw KafkaError(consuming: error, context: context) }
    }

    /// Throws when a librdkafka call returned a response code other than no-error.
    static func check(_ code: rd_kafka_resp_err_t, handle: OpaquePointer? = nil, context: String) throws(KafkaError) {
        if code != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(code: code, handle: handle, context: context) }
    }
}
