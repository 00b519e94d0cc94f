import Foundation
import RdKafka

/// The file that records how far the persistent global stores have applied their topics:
/// one `topic partition offset` line per partition (the next offset to apply), replaced
/// whole (written aside, then renamed) so a crash leaves the old file or the new one.
struct GlobalCheckpoint {
    let path: String

    /// The recorded offsets; none when the file is missing or unreadable.
    func load() -> [TopicPartition: Int64] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var offsets: [TopicPartition: Int64] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let partition = Int32(fields[1]), let offset = Int64(fields[2]) else { return [:] }
            offsets[TopicPartition(topic: String(fields[0]), partition: partition)] = offset
        }
        return offsets
    }

    func save(_ offsets: [TopicPartition: Int64]) throws {
        let lines = offsets.sorted { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }
            .map { "\($0.key.topic) \($0.key.partition) \($0.value)\n" }
        let temporary = path + ".tmp"
        try Data(lines.joined().utf8).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else {
            throw StreamsError(.commit, "cannot replace the global checkpoint \(path): \(String(cString: strerror(errno)))")
        }
    }
}
