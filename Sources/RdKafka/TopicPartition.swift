import CRdKafka

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A partition of a topic.
public struct TopicPartition: Sendable, Hashable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }
}

/// A partition with an offset: a position to read from, or an offset to commit (the
/// offset of the *next* record to read, i.e. the last processed offset + 1).
public struct TopicPartitionOffset: Sendable, Hashable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// Committed with the offset and read back with it (Kafka's offset metadata), for
    /// what a group's members tell each other about a partition; `nil`: none.
    public var metadata: String?

    public init(topic: String, partition: Int32, offset: Int64, metadata: String? = nil) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.metadata = metadata
    }

    public init(_ topicPartition: TopicPartition, offset: Int64, metadata: String? = nil) {
        self.init(topic: topicPartition.topic, partition: topicPartition.partition, offset: offset, metadata: metadata)
    }

    public var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }
    public var description: String { "\(topic)[\(partition)]@\(offset)" + (metadata.map { " (\($0))" } ?? "") }
}

/// librdkafka's logical offsets.
public enum KafkaOffset {
    /// The first offset still in the log.
    public static let beginning = Int64(RD_KAFKA_OFFSET_BEGINNING)
    /// The offset after the last record (the high watermark).
    public static let end = Int64(RD_KAFKA_OFFSET_END)
    /// The group's committed offset.
    public static let stored = Int64(RD_KAFKA_OFFSET_STORED)
    /// No offset: nothing committed, or position not yet known.
    public static let invalid = Int64(RD_KAFKA_OFFSET_INVALID)
}

/// The low and high watermarks of a partition: the first offset still stored and the
/// offset the next record will get.
public struct Watermarks: Sendable, Hashable {
    public var low: Int64
    public var high: Int64

    public init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }
}

/// An owned `rd_kafka_topic_partition_list_t`.
final class NativePartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(_ partitions: [TopicPartitionOffset]) {
        pointer = rd_kafka_topic_partition_list_new(Int32(partitions.count))
        for entry in partitions {
            let element = rd_kafka_topic_partition_list_add(pointer, entry.topic, entry.partition)!
            element.pointee.offset = entry.offset
            if let metadata = entry.metadata, !metadata.isEmpty {
                // The list frees it with the element (librdkafka's rd_free is free).
                let bytes = Array(metadata.utf8)
                let copy = malloc(bytes.count)!
                bytes.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                element.pointee.metadata = copy
                element.pointee.metadata_size = bytes.count
            }
        }
    }

    convenience init(_ partitions: [TopicPartition]) {
        self.init(partitions.map { TopicPartitionOffset($0, offset: KafkaOffset.invalid) })
    }

    deinit { rd_kafka_topic_partition_list_destroy(pointer) }

    var offsets: [TopicPartitionOffset] { readOffsets(pointer) }

    /// Throws the first per-partition error, naming the partition.
    func checkElements(context: String) throws(KafkaError) {
        for index in 0..<Int(pointer.pointee.cnt) {
            let element = pointer.pointee.elems[index]
            if element.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                let name = "\(String(cString: element.topic))[\(element.partition)]"
                throw KafkaError(code: element.err, context: "\(context) \(name)")
            }
        }
    }
}

func readOffsets(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [TopicPartitionOffset] {
    (0..<Int(list.pointee.cnt)).map { index in
        let element = list.pointee.elems[index]
        var metadata: String?
        if let bytes = element.metadata, element.metadata_size > 0 {
            metadata = String(decoding: UnsafeRawBufferPointer(start: bytes, count: element.metadata_size), as: UTF8.self)
        }
        return TopicPartitionOffset(topic: String(cString: element.topic), partition: element.partition, offset: element.offset, metadata: metadata)
    }
}
