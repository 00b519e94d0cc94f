import CRdKafka

/// A record as librdkafka fetched it, lent to a
/// ``Consumer/poll(maxRecords:timeout:_:)`` callback without copying.
///
/// `key` and `value` point into librdkafka's buffer and are valid only until the callback
/// returns: read or deserialize them there, or keep a ``copy()``. The message itself must
/// not escape the callback.
public struct UnsafeConsumerMessage {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    /// Milliseconds since the epoch (meaningless when `timestampType` is `.notAvailable`).
    public let timestamp: Int64
    public let timestampType: TimestampType
    /// The key bytes, or `nil` for a null key.
    public let key: UnsafeRawBufferPointer?
    /// The value bytes, or `nil` for a tombstone.
    public let value: UnsafeRawBufferPointer?
    private let message: UnsafeMutablePointer<rd_kafka_message_t>

    init(_ message: UnsafeMutablePointer<rd_kafka_message_t>, topic: String) {
        let m = message.pointee
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        timestamp = rd_kafka_message_timestamp(message, &type)
        switch type {
        case RD_KAFKA_TIMESTAMP_CREATE_TIME: timestampType = .createTime
        case RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME: timestampType = .logAppendTime
        default: timestampType = .notAvailable
        }
        self.topic = topic
        partition = m.partition
        offset = m.offset
        key = m.key.map { UnsafeRawBufferPointer(start: $0, count: m.key_len) }
        value = m.payload.map { UnsafeRawBufferPointer(start: $0, count: m.len) }
        self.message = message
    }

    /// The record's headers (parsed on each access).
    public var headers: [KafkaHeader] {
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else { return [] }
        var result: [KafkaHeader] = []
        var index = 0
        var name: UnsafePointer<CChar>?
        var bytes: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(headers, index, &name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            result.append(KafkaHeader(
                key: name.map { String(cString: $0) } ?? "",
                value: bytes.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }))
            index += 1
        }
        return result
    }

    /// An owned copy that may outlive the callback.
    public func copy() -> ConsumerRecord {
        ConsumerRecord(
            topic: topic, partition: partition, offset: offset, timestamp: timestamp, timestampType: timestampType,
            key: key.map { Array($0) }, value: value.map { Array($0) }, headers: headers)
    }
}
