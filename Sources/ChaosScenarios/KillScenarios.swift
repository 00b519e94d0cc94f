import Foundation
import KafkaStreams

/// A sample application `streams-chaos kill` runs and kills: the topics it needs, the input
/// it is fed, and how its outputs show that every input got through. The names below are
/// the samples' own (see `describe()` in their output); the samples are executables, so
/// they cannot be imported.
public protocol KillScenario: Sendable {
    /// The executable, beside `streams-chaos`.
    var executable: String { get }
    var applicationID: String { get }
    /// Every topic the sample reads or writes, internal ones included: the mock broker
    /// cannot create topics on request.
    var topics: [String] { get }
    var inputTopic: String { get }
    var outputTopics: [String] { get }
    /// The `index`th input record (key, value).
    func input(_ index: Int) -> (key: String, value: String)
    /// Takes in one output record (in offset order within a partition).
    mutating func observe(key: [UInt8]?, value: [UInt8]?)
    /// How the outputs seen so far account for the first `inputs` input records.
    func check(inputs: Int) -> KillCheck
}

/// What the outputs show. At-least-once: `lost` must be 0; `duplicated` counts repeats
/// that kills cause (a kill between writing outputs and committing their inputs).
public struct KillCheck: Sendable, Equatable {
    public var lost: Int
    public var duplicated: Int

    public init(lost: Int, duplicated: Int) {
        self.lost = lost
        self.duplicated = duplicated
    }
}

/// The stateless sample: each click carries a unique page (`/chaos/<index>`), which its
/// enriched copy in `page-views` or `button-clicks` keeps.
public struct ClickEventsScenario: KillScenario {
    public let executable = "click-events"
    public let applicationID = "chaos-click-events"
    public let topics = ["clicks", "page-views", "button-clicks", "clicks-dlq"]
    public let inputTopic = "clicks"
    public let outputTopics = ["page-views", "button-clicks"]
    private var seen: [Int: Int] = [:]

    public init() {}

    public func input(_ index: Int) -> (key: String, value: String) {
        let user = "user-\(index % 97)"
        let kind = index % 3 == 0 ? "button" : "page_view"
        return (user, #"{"user":"\#(user)","kind":"\#(kind)","page":"/chaos/\#(index)","userAgent":"Mozilla/5.0 (X11; Linux)"}"#)
    }

    private struct Output: Decodable { let page: String }

    public mutating func observe(key: [UInt8]?, value: [UInt8]?) {
        guard let value, let output = try? JSONDecoder().decode(Output.self, from: Data(value)),
              output.page.hasPrefix("/chaos/"), let index = Int(output.page.dropFirst("/chaos/".count))
        else { return }
        seen[index, default: 0] += 1
    }

    public func check(inputs: Int) -> KillCheck {
        let lost = (0..<inputs).count { seen[$0] == nil }
        return KillCheck(lost: lost, duplicated: seen.values.reduce(0) { $0 + $1 - 1 })
    }
}

/// The stateful sample (RocksDB store, changelog, repartition topic): each line holds a
/// word of its own, written in letters since digits split words, plus one of a few shared
/// words. A line is lost when its own word was never counted, or when a shared word's
/// latest count falls short of its occurrences (repeats only raise counts, so they
/// cannot hide a loss of shared words' lines either).
public struct WordCountScenario: KillScenario {
    public let executable = "word-count"
    public let applicationID = "chaos-word-count"
    public var topics: [String] {
        ["text-lines", "word-counts", "\(applicationID)-KSTREAM-REPARTITION-0000000003-repartition", "\(applicationID)-word-counts-changelog"]
    }
    public let inputTopic = "text-lines"
    public let outputTopics = ["word-counts"]
    private static let sharedWords = ["kafka", "streams", "swift", "chaos", "restart"]
    private var latest: [String: Int64] = [:]

    public init() {}

    /// `index` in base 26, as letters, after a prefix no shared word has.
    private static func ownWord(_ index: Int) -> String {
        var letters: [Character] = []
        var rest = index
        repeat {
            letters.append(Character(UnicodeScalar(UInt8(97 + rest % 26))))
            rest /= 26
        } while rest > 0
        return "zq" + String(letters.reversed())
    }

    public func input(_ index: Int) -> (key: String, value: String) {
        ("line-\(index)", "\(Self.ownWord(index)) \(Self.sharedWords[index % Self.sharedWords.count])")
    }

    public mutating func observe(key: [UInt8]?, value: [UInt8]?) {
        guard let key, let value, let count = try? value.withUnsafeBytes({ try BigEndianIntegerSerde<Int64>().deserialize($0) }) else { return }
        latest[String(decoding: key, as: UTF8.self)] = count
    }

    /// A lost line leaves its own word uncounted, its shared word short, or both (they
    /// are counted on different partitions): the larger of the two is how many lines at
    /// least were lost.
    public func check(inputs: Int) -> KillCheck {
        let uncounted = (0..<inputs).count { latest[Self.ownWord($0), default: 0] < 1 }
        var duplicated = (0..<inputs).reduce(0) { $0 + Int(max(latest[Self.ownWord($1), default: 0] - 1, 0)) }
        var shortfall = 0
        for (offset, word) in Self.sharedWords.enumerated() {
            let occurrences = (0..<inputs).count { $0 % Self.sharedWords.count == offset }
            let counted = Int(latest[word, default: 0])
            shortfall += max(occurrences - counted, 0)
            duplicated += max(counted - occurrences, 0)
        }
        return KillCheck(lost: max(uncounted, shortfall), duplicated: duplicated)
    }
}
