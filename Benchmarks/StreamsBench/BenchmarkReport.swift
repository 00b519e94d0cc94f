import Foundation

/// The JSON line every benchmark ends with. `ratio` = `rate` / `baseline_rate`; a
/// benchmark without a baseline prints neither.
struct BenchmarkReport: Encodable {
    var bench: String
    var records: Int
    var rate: Double
    var baseline: String?
    var baselineRate: Double?
    var ratio: Double? { baselineRate.map { $0 > 0 ? rate / $0 : 0 } }
    /// Benchmark-specific measurements (per-round rates, verification counts, ...).
    var details: [String: Double]

    init(bench: String, records: Int, rate: Double, baseline: String? = nil, baselineRate: Double? = nil, details: [String: Double]) {
        self.bench = bench
        self.records = records
        self.rate = rate
        self.baseline = baseline
        self.baselineRate = baselineRate
        self.details = details
    }

    enum CodingKeys: String, CodingKey {
        case bench, records, rate, baseline, baselineRate = "baseline_rate", ratio, details
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(bench, forKey: .bench)
        try container.encode(records, forKey: .records)
        try container.encode(rate.rounded(), forKey: .rate)
        try container.encodeIfPresent(baseline, forKey: .baseline)
        try container.encodeIfPresent(baselineRate?.rounded(), forKey: .baselineRate)
        try container.encodeIfPresent(ratio.map { ($0 * 1000).rounded() / 1000 }, forKey: .ratio)
        try container.encode(details.mapValues { ($0 * 1000).rounded() / 1000 }, forKey: .details)
    }

    func print() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        Swift.print(String(decoding: try encoder.encode(self), as: UTF8.self))
    }
}

/// Progress lines go to stderr so stdout ends with the JSON line alone.
func progress(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The NUL-terminated message a C baseline wrote into `buffer`.
func cMessage(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Runs both sides of a round, alternating which goes first: page cache, allocator and
/// broker state favour whichever runs second.
func alternate(round: Int, _ baseline: () throws -> Void, _ swift: () throws -> Void) rethrows {
    if round % 2 == 0 {
        try baseline()
        try swift()
    } else {
        try swift()
        try baseline()
    }
}
