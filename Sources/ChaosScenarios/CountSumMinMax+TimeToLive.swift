import KafkaStreams
import KafkaStreamsTesting

/// The scenario's count whose entries expire: after the repartition topic, each key's
/// count forgets the key once the task's stream time has moved `timeToLive` ms past the
/// key's last record. Purges at commits write tombstones to the changelog, and a restart
/// takes up stream time from the restored store: a purge of an aborted transaction that
/// survived, one lost, or a restarted task that forgot how far stream time had got shows
/// as a wrong count.
extension CountSumMinMax {
    public static let recentCount = "recent-count"
    public static let timeToLive: Int64 = 12

    static func addRecentCount(grouped: KGroupedStream<String, Int64>) {
        grouped.count(named: "recent", materialized: Materialized.as(recentCount).withTimeToLive(.milliseconds(timeToLive)).withCachingDisabled())
            .toStream()
            .to(recentCount, value: .optional(.int64))
    }

    /// Per key, the counts in order, computed from the repartition topic's committed
    /// records in each partition's order (the order its task processed them in): a key's
    /// count, stamped with its latest record's time, has expired once the largest time the
    /// task has processed is `timeToLive` past it.
    func compareRecentCounts(repartitioned: [SimulatedRecord], actual: [SimulatedRecord], into outcome: inout Outcome) {
        var expected: [String: [Int64]] = [:]
        var streamTime: [Int32: Int64] = [:]
        var counts: [String: (count: Int64, time: Int64)] = [:]
        for record in repartitioned {
            let key = record.key.map { String(decoding: $0, as: UTF8.self) } ?? ""
            let now = max(streamTime[record.partition] ?? -1, record.timestamp)
            streamTime[record.partition] = now
            var count: Int64 = 1
            var time = record.timestamp
            if let stored = counts[key], now - Self.timeToLive < stored.time {
                count = stored.count + 1
                time = max(stored.time, record.timestamp)
            }
            counts[key] = (count, time)
            expected[key, default: []].append(count)
        }
        compare(expected: expected, actual: sequences(actual), into: &outcome)
    }
}
