import ChaosScenarios
import Foundation
import KafkaStreams
import Testing

/// The checks `streams-chaos kill` ends with must see a loss when there is one, and tell
/// repeats from losses. (The kill run itself runs in `make test`, after the suites.)
@Suite struct KillScenarioTests {
    /// What the click sample writes for input `index`: its enriched click, page kept.
    static func clickOutput(_ scenario: ClickEventsScenario, _ index: Int) -> [UInt8] {
        #expect(scenario.input(index).value.contains(#""page":"/chaos/\#(index)""#))
        return Array(#"{"mobile":false,"page":"/chaos/\#(index)","section":"chaos","user":"someone"}"#.utf8)
    }

    @Test func clickEventsCountsAMissingClickAsLostAndARepeatAsDuplicated() throws {
        var scenario = ClickEventsScenario()
        for index in 0..<10 where index != 4 {
            scenario.observe(key: nil, value: Self.clickOutput(scenario, index))
        }
        scenario.observe(key: nil, value: Self.clickOutput(scenario, 2))
        #expect(scenario.check(inputs: 10) == KillCheck(lost: 1, duplicated: 1))
        scenario.observe(key: nil, value: Self.clickOutput(scenario, 4))
        #expect(scenario.check(inputs: 10) == KillCheck(lost: 0, duplicated: 1))
        #expect(scenario.check(inputs: 11) == KillCheck(lost: 1, duplicated: 1), "an input with no output yet")
    }

    /// Word counts of the first `inputs` lines of the scenario, as the sample's store holds
    /// them, minus `skipping` lines' words.
    static func counts(_ scenario: WordCountScenario, inputs: Int, skipping: Set<Int> = [], repeating: [Int] = []) -> [String: Int64] {
        var counts: [String: Int64] = [:]
        for index in (0..<inputs).filter({ !skipping.contains($0) }) + repeating {
            for word in scenario.input(index).value.split(separator: " ") { counts[String(word), default: 0] += 1 }
        }
        return counts
    }

    static func observe(_ counts: [String: Int64], in scenario: inout WordCountScenario) {
        for (word, count) in counts {
            var bytes: [UInt8] = []
            try! BigEndianIntegerSerde<Int64>().serialize(count, into: &bytes)
            scenario.observe(key: Array(word.utf8), value: bytes)
        }
    }

    @Test func wordCountSeesEveryLineCounted() {
        var scenario = WordCountScenario()
        Self.observe(Self.counts(scenario, inputs: 40), in: &scenario)
        #expect(scenario.check(inputs: 40) == KillCheck(lost: 0, duplicated: 0))
    }

    @Test func wordCountFindsALostLineAndTellsItFromARepeat() {
        var lost = WordCountScenario()
        Self.observe(Self.counts(lost, inputs: 40, skipping: [17]), in: &lost)
        #expect(lost.check(inputs: 40) == KillCheck(lost: 1, duplicated: 0))

        var repeated = WordCountScenario()
        Self.observe(Self.counts(repeated, inputs: 40, repeating: [3, 3]), in: &repeated)
        #expect(repeated.check(inputs: 40) == KillCheck(lost: 0, duplicated: 4), "two repeats of a line of two words")
    }

    @Test func wordCountFindsALineWhoseSharedWordAloneWasLost() {
        var scenario = WordCountScenario()
        var counts = Self.counts(scenario, inputs: 40)
        let shared = String(scenario.input(9).value.split(separator: " ")[1])
        counts[shared]! -= 1
        Self.observe(counts, in: &scenario)
        #expect(scenario.check(inputs: 40) == KillCheck(lost: 1, duplicated: 0))
    }

    @Test func wordCountJudgesByTheLatestCount() {
        var scenario = WordCountScenario()
        let counts = Self.counts(scenario, inputs: 10)
        Self.observe(counts, in: &scenario)
        // A later, lower count of a word (state lost on restart) must show as a loss.
        let word = String(scenario.input(0).value.split(separator: " ")[1])
        Self.observe([word: counts[word]! - 1], in: &scenario)
        #expect(scenario.check(inputs: 10).lost == 1)
    }
}
