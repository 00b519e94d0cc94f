import CRdKafka

/// A librdkafka error code (`rd_kafka_resp_err_t`): negative values are client-side
/// conditions, positive values are Kafka protocol errors.
public struct KafkaErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// librdkafka's symbolic name, e.g. `UNKNOWN_TOPIC_OR_PART` or `_TIMED_OUT`.
    public var name: String { String(cString: rd_kafka_err2name(native)) }
    /// librdkafka's description of the code.
    public var text: String { String(cString: rd_kafka_err2str(native)) }
    public var description: String { name }

    var native: rd_kafka_resp_err_t { rd_kafka_resp_err_t(rawValue: rawValue) }
    init(_ native: rd_kafka_resp_err_t) { self.rawValue = native.rawValue }

    // Client-side conditions.
    public static let timedOut = KafkaErrorCode(RD_KAFKA_RESP_ERR__TIMED_OUT)
    public static let queueFull = KafkaErrorCode(RD_KAFKA_RESP_ERR__QUEUE_FULL)
    public static let transport = KafkaErrorCode(RD_KAFKA_RESP_ERR__TRANSPORT)
    public static let allBrokersDown = KafkaErrorCode(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
    public static let messageTimedOut = KafkaErrorCode(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
    public static let invalidArgument = KafkaErrorCode(RD_KAFKA_RESP_ERR__INVALID_ARG)
    public static let notImplemented = KafkaErrorCode(RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED)
    public static let unknownTopic = KafkaErrorCode(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
    public static let unknownPartition = KafkaErrorCode(RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
    public static let state = KafkaErrorCode(RD_KAFKA_RESP_ERR__STATE)
    public static let fenced = KafkaErrorCode(RD_KAFKA_RESP_ERR__FENCED)
    public static let fatal = KafkaErrorCode(RD_KAFKA_RESP_ERR__FATAL)
    public static let purgedFromQueue = KafkaErrorCode(RD_KAFKA_RESP_ERR__PURGE_QUEUE)
    public static let purgedInFlight = KafkaErrorCode(RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
    public static let destroyed = KafkaErrorCode(RD_KAFKA_RESP_ERR__DESTROY)
    public static let assignmentLost = KafkaErrorCode(RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST)
    /// A condition detected by this wrapper rather than by librdkafka.
    public static let wrapper = KafkaErrorCode(RD_KAFKA_RESP_ERR__FAIL)

    // Broker (protocol) errors.
    public static let unknownTopicOrPartition = KafkaErrorCode(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
    public static let notLeaderForPartition = KafkaErrorCode(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION)
    public static let requestTimedOut = KafkaErrorCode(RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT)
    public static let notEnoughReplicas = KafkaErrorCode(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS)
    public static let coordinatorNotAvailable = KafkaErrorCode(RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE)
    public static let notCoordinator = KafkaErrorCode(RD_KAFKA_RESP_ERR_NOT_COORDINATOR)
    public static let messageSizeTooLarge = KafkaErrorCode(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
    public static let topicAlreadyExists = KafkaErrorCode(RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
    public static let topicAuthorizationFailed = KafkaErrorCode(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
    public static let invalidProducerEpoch = KafkaErrorCode(RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH)
    public static let producerFenced = KafkaErrorCode(RD_KAFKA_RESP_ERR_PRODUCER_FENCED)
    public static let invalidTransactionState = KafkaErrorCode(RD_KAFKA_RESP_ERR_INVALID_TXN_STATE)
    public static let concurrentTransactions = KafkaErrorCode(RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS)
    public static let transactionalIDAuthorizationFailed =
        KafkaErrorCode(RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    public static let rebalanceInProgress = KafkaErrorCode(RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS)
    public static let unknownMemberID = KafkaErrorCode(RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID)
    public static let illegalGeneration = KafkaErrorCode(RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION)

    /// How a bare code (one not wrapped in an `rd_kafka_error_t`) is classified.
    var defaultClassification: KafkaError.Classification {
        switch self {
        case .fatal, .fenced, .producerFenced, .invalidProducerEpoch, .transactionalIDAuthorizationFailed:
            return .fatal
        case .timedOut, .queueFull, .transport, .allBrokersDown, .requestTimedOut, .notEnoughReplicas,
            .notLeaderForPartition, .coordinatorNotAvailable, .notCoordinator, .concurrentTransactions,
            .rebalanceInProgress, .messageTimedOut:
            return .retriable
        default:
            return .permanent
        }
    }
}
