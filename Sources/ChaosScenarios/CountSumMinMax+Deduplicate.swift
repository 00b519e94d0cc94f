import KafkaStreams
import KafkaStreamsTesting

/// The scenario's bounded deduplication, after the repartition topic: each record whose id
/// (its key and its value modulo 3) was passed on within `dedupWindow` ms of event time
/// before it is dropped. The ids passed on live in a window store with a changelog: a
/// store write of an aborted transaction that survived, or one lost, shows as a record
/// dropped or passed wrongly.
extension CountSumMinMax {
    public static let deduplicated = "deduplicated"
    public static let dedupWindow: Int64 = 30

    static func id(key: String, value: Int64) -> String { "\(key)/\((value % 3 + 3) % 3)" }

    static func addDeduplication(rekeyed: KStream<String, Int64>) {
        rekeyed.deduplicate(within: .milliseconds(dedupWindow), named: "dedup", id: .string) { key, value in id(key: key, value: value) }
            .to(deduplicated, value: .int64)
    }

    /// Per key, the values passed on, in order: a record passes unless its id passed within
    /// the window before it (times rise with the input, so no repeat comes before its
    /// original, and retention, twice the window, keeps every id that matters).
    func compareDeduplicated(seed: UInt64, actual: [SimulatedRecord], into outcome: inout Outcome) {
        var kept: [String: Int64] = [:]
        var expected: [String: [Int64]] = [:]
        for (index, record) in input(seed: seed).enumerated() {
            let time = Self.time(ofInput: index)
            let id = Self.id(key: record.key, value: record.value)
            if let last = kept[id], time - last <= Self.dedupWindow { continue }
            kept[id] = time
            expected[record.key, default: []].append(record.value)
        }
        compare(expected: expected, actual: sequences(actual), into: &outcome)
    }
}
