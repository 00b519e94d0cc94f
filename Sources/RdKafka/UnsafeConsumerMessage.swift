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
        guard mayHaveHeaders else { return [] }
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

    /// False when the record certainly has no headers. Asking librdkafka costs a buffer
    /// allocated and freed per record even then (it builds a parser to read a header count
    /// of zero), which was the largest single cost of a stream thread. In the record format
    /// of Kafka 0.11 and later the header count directly follows the value, and a count of
    /// one or more never encodes (as a zigzag varint) to a zero first byte; older formats
    /// carry no headers at all, so whatever byte follows their value, the answer stays right.
    private var mayHaveHeaders: Bool {
        let m = message.pointee
        guard let payload = m.payload, m.len > 0 else { return true }
        let next = UnsafeRawPointer(payload) + m.len
        // Read only within the page of the value's last byte (pages are multiples of 4 KiB),
        // which is mapped: after an old-format value at the very end of a buffer, the next
        // page might not be.
        guard UInt(bitPattern: next) % 4096 != 0 else { return true }
        return next.load(as: UInt8.self) != 0
    }

    /// Names the message to ``Consumer/release(_:)`` once a `keeping` poll kept it.
    package var token: UInt { UInt(bitPattern: message) }

    /// An owned copy that may outlive the callback.
    public func copy() -> ConsumerRecord {
        ConsumerRecord(
            topic: topic, partition: partition, offset: offset, timestamp: timestamp, timestampType: timestampType,
            key: key.map { Array($0) }, value: value.map { Array($0) }, headers: headers)
    }
}
