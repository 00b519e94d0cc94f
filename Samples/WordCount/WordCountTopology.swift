import KafkaStreams

/// Text lines in, a running count per word out; the counts live in the RocksDB store
/// `word-counts`, backed by the changelog topic `<applicationId>-word-counts-changelog`.
enum WordCountTopology {
    static let input = "text-lines"
    static let output = "word-counts"
    static let store = "word-counts"

    static func build() throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream(input, key: .optional(.string), value: .string)
            .flatMapValues { line in words(in: line) }
            .groupBy(key: .string) { _, word in word }
            .count(materialized: .as(store))
            .toStream()
            .to(output, key: .string, value: .optional(.int64))
        return try builder.build()
    }

    static func words(in line: String) -> [String] {
        line.lowercased().split { !$0.isLetter && $0 != "'" }.map(String.init)
    }

    /// Two batches of text, so the second run shows counts continuing from the first.
    static let firstBatch = [
        "the quick brown fox jumps over the lazy dog",
        "a stream is a table in motion and a table is a stream at rest",
        "the fox and the dog are friends",
        "every record the stream sees changes the table",
        "state lives in the store and the changelog keeps the store",
    ]
    static let secondBatch = [
        "the store is rebuilt from the changelog after a restart",
        "the dog sleeps and the fox counts the words",
        "a table remembers the latest count of every word",
    ]
}
