import KafkaStreams
import KafkaStreamsTesting

/// The joins of the scenario, after the repartition topic: a stream–table join of each
/// record with its key's count so far (the count table is written first, so the count
/// includes the record), a stream–stream left join of each key's even values with its
/// odd values within a few milliseconds of event time, and a foreign-key left join of each
/// key's count with the sum of the key the count names. The first two outputs are
/// functions of the input; a lost or repeated input, or a join state that lost or kept a
/// write of an aborted transaction, shows as a wrong, missing or extra record. The foreign-key
/// join's answers cross partitions, so only its final result per key is a function of the
/// input, and every result before it a combination that existed.
extension CountSumMinMax {
    /// Each record with its key's count: `count * 10_000 + value + 1_000`.
    public static let enriched = "enriched"
    /// Each even value with each odd value of its key within `pairWindow` ms:
    /// `even * 10_000 + odd + 1_000`, or `even * 10_000 + 9_999` once the even one's window
    /// closed without partner.
    public static let paired = "paired"
    public static let pairWindow: Int64 = 5
    public static let pairGrace: Int64 = 2
    static let noPartner: Int64 = 9_999

    /// Each key's count `c` joined with the sum of `key-<c % chainModulus>` (the foreign
    /// key moves with every count): `"c/sum"`, or `"c/null"` while that key has no sum.
    public static let chained = "chained"
    static let chainModulus: Int64 = 7

    static var joinTopics: [String] { [enriched, paired, chained] }

    /// Adds the joins to a topology whose re-keyed stream is `rekeyed` and whose count and
    /// sum tables are `counts` and `sums`.
    static func addJoins(rekeyed: KStream<String, Int64>, counts: KTable<String, Int64>, sums: KTable<String, Int64>) {
        counts.leftJoin(sums, named: "chain", foreignKey: { _, count in "key-\(count % chainModulus)" }, value: .string) { count, sum in
            "\(count)/\(sum.map(String.init) ?? "null")"
        }
        .toStream().to(chained, value: .optional(.string))
        rekeyed.leftJoin(counts, named: "enrich") { value, count in (count ?? 0) * 10_000 + value + 1_000 }
            .to(enriched, value: .int64)
        let evens = rekeyed.filter { _, value in value % 2 == 0 }
        let odds = rekeyed.filter { _, value in value % 2 != 0 }
        evens.leftJoin(
            odds, windows: .timeDifference(.milliseconds(pairWindow), grace: .milliseconds(pairGrace)), named: "pair", value: .int64,
            otherValue: .int64
        ) { even, odd in even * 10_000 + (odd.map { $0 + 1_000 } ?? noPartner) }
            .to(paired, value: .int64)
    }

    /// Every record, in order per key, with its key's count including it.
    func compareEnriched(seed: UInt64, actual: [SimulatedRecord], into outcome: inout Outcome) {
        var counts: [String: Int64] = [:]
        var expected: [String: [Int64]] = [:]
        for record in input(seed: seed) {
            counts[record.key, default: 0] += 1
            expected[record.key, default: []].append(counts[record.key]! * 10_000 + record.value + 1_000)
        }
        compare(expected: expected, actual: sequences(actual), into: &outcome)
    }

    /// Per key, the left join as its own records drive it: each record of the key is the
    /// task's latest (the input is in time order per partition), so when it comes, the
    /// held even values whose window (plus grace) it passed come out first, then its pairs.
    /// Another key's later record may close the key's last held values before its own
    /// records do: the outputs may end with more of them, in order, than its own records
    /// closed, but with no other extra.
    func comparePaired(seed: UInt64, actual: [SimulatedRecord], into outcome: inout Outcome) {
        var expected: [String: [Int64]] = [:]
        var trailing: [String: [Int64]] = [:]
        var seen: [String: [(time: Int64, value: Int64)]] = [:]
        var held: [String: [(time: Int64, value: Int64)]] = [:]
        for (index, record) in input(seed: seed).enumerated() {
            let time = Self.time(ofInput: index)
            let key = record.key
            while let first = held[key]?.first, first.time + Self.pairWindow + Self.pairGrace < time {
                expected[key, default: []].append(first.value * 10_000 + Self.noPartner)
                held[key]!.removeFirst()
            }
            let partners = (seen[key] ?? []).filter { $0.time >= time - Self.pairWindow && ($0.value % 2 == 0) != (record.value % 2 == 0) }
            if record.value % 2 == 0 {
                for odd in partners { expected[key, default: []].append(record.value * 10_000 + odd.value + 1_000) }
                if partners.isEmpty { held[key, default: []].append((time, record.value)) }
            } else {
                for even in partners {
                    expected[key, default: []].append(even.value * 10_000 + record.value + 1_000)
                    held[key]?.removeAll { $0.time == even.time }
                }
            }
            seen[key, default: []].append((time, record.value))
        }
        for (key, list) in held { trailing[key] = list.map { $0.value * 10_000 + Self.noPartner } }
        let got = sequences(actual)
        for key in Set(expected.keys).union(got.keys).union(trailing.keys) {
            let want = expected[key] ?? []
            let values = got[key] ?? []
            outcome.lost += max(0, want.count - values.count)
            outcome.mismatched += zip(want, values).filter { $0 != $1 }.count
            let extra = Array(values.dropFirst(want.count))
            let allowed = trailing[key] ?? []
            if extra.count > allowed.count {
                outcome.duplicated += extra.count - allowed.count
            } else if extra != Array(allowed.prefix(extra.count)) {
                outcome.mismatched += 1
            }
        }
    }

    /// Per key, the last result must join the key's final count with the final sum of the
    /// key it names; every result must join one of the key's counts with the sum the named
    /// key had at some point (or none yet).
    func compareChained(seed: UInt64, actual: [SimulatedRecord], into outcome: inout Outcome) {
        var counts: [String: Int64] = [:]
        var sums: [String: [Int64]] = [:]
        for record in input(seed: seed) {
            counts[record.key, default: 0] += 1
            sums[record.key, default: []].append((sums[record.key]?.last ?? 0) + record.value)
        }
        var latest: [String: String] = [:]
        for record in actual {
            let key = String(decoding: record.key ?? [], as: UTF8.self)
            let value = record.value.map { String(decoding: $0, as: UTF8.self) } ?? "null"
            latest[key] = value
            let parts = value.split(separator: "/")
            guard parts.count == 2, let count = Int64(parts[0]), (1...(counts[key] ?? 0)).contains(count) else {
                outcome.mismatched += 1
                continue
            }
            let named = sums["key-\(count % Self.chainModulus)"] ?? []
            if parts[1] != "null" && !named.contains(where: { String($0) == parts[1] }) { outcome.mismatched += 1 }
        }
        for (key, count) in counts {
            let sum = sums["key-\(count % Self.chainModulus)"]?.last
            guard let got = latest[key] else {
                outcome.lost += 1
                continue
            }
            if got != "\(count)/\(sum.map(String.init) ?? "null")" { outcome.mismatched += 1 }
        }
    }
}
