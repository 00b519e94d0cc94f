import KafkaStreams
import KafkaStreamsTesting
import Testing

/// Kafka Streams' `SuppressScenarioTest` final-results scenarios, with emit-on-close in the
/// place of `suppress(untilWindowCloses)`: the same input counted emitting every update
/// (cache off) and emitting each window once, as it closes, with its exact outputs.
@Suite struct FinalResultsScenarioTests {
    enum Windowing: Sendable {
        case time(TimeWindows)
        case sliding(SlidingWindows)
        case session(SessionWindows)

        /// Kafka Streams' layout of the windows' keys on the output topic.
        var outputKey: AnySerde<Windowed<String>> {
            switch self {
            case .time(let windows): .timeWindowed(.string, windowSize: .milliseconds(windows.size))
            case .sliding(let windows): .timeWindowed(.string, windowSize: .milliseconds(windows.difference))
            case .session: .sessionWindowed(.string)
            }
        }
    }

    /// `[key@start/end] count tTIME` (`null` for a merged session), in output order: the
    /// runner of the count, reduce and aggregate scenarios, counting with the cache off.
    static func counts(_ windowing: Windowing, emit: EmitStrategy, input: [(String, Int64)]) throws -> [String] {
        try WindowedOperationsDriverTests.run(
            .init(operation: .count, emit: emit, caching: false), input: input.map { ($0.0, "v1", $0.1) }, outputKey: windowing.outputKey
        ) { grouped, materialized, testCase in
            let counts: KTable<Windowed<String>, Int64> =
                switch windowing {
                case .time(let windows): grouped.windowedBy(windows).count(materialized: materialized, emit: testCase.emit)
                case .sliding(let windows): grouped.windowedBy(windows).count(materialized: materialized, emit: testCase.emit)
                case .session(let windows): grouped.windowedBy(windows).count(materialized: materialized, emit: testCase.emit)
                }
            return counts.mapValues { String($0) }
        }
    }

    @Test func timeWindows() throws {
        let windows = Windowing.time(.tumbling(size: .milliseconds(2), grace: .milliseconds(1)))
        // The last record is late: stream time 5 closed [0, 2) at 3.
        let input = [("k1", 0), ("k1", 1), ("k1", 2), ("k1", 1), ("k1", 0), ("k1", 5), ("k1", 0)] as [(String, Int64)]
        #expect(try Self.counts(windows, emit: .onUpdate, input: input) == [
            "[k1@0/2] 1 t0", "[k1@0/2] 2 t1", "[k1@2/4] 1 t2", "[k1@0/2] 3 t1", "[k1@0/2] 4 t1", "[k1@4/6] 1 t5",
        ])
        #expect(try Self.counts(windows, emit: .onWindowClose, input: input) == ["[k1@0/2] 4 t1", "[k1@2/4] 1 t2"])
    }

    @Test func timeWindowsWithALargeJump() throws {
        let windows = Windowing.time(.tumbling(size: .milliseconds(2), grace: .milliseconds(2)))
        let input = [("k1", 0), ("k1", 1), ("k1", 2), ("k1", 0), ("k1", 3), ("k1", 0), ("k1", 4), ("k1", 0), ("k1", 30)] as [(String, Int64)]
        #expect(try Self.counts(windows, emit: .onUpdate, input: input) == [
            "[k1@0/2] 1 t0", "[k1@0/2] 2 t1", "[k1@2/4] 1 t2", "[k1@0/2] 3 t1", "[k1@2/4] 2 t3", "[k1@0/2] 4 t1", "[k1@4/6] 1 t4",
            "[k1@30/32] 1 t30",
        ])
        // The jump to 30 closes every window before it at once.
        #expect(try Self.counts(windows, emit: .onWindowClose, input: input) == ["[k1@0/2] 4 t1", "[k1@2/4] 2 t3", "[k1@4/6] 1 t4"])
    }

    @Test func slidingWindows() throws {
        let windows = Windowing.sliding(.sliding(difference: .milliseconds(5), grace: .milliseconds(15)))
        // The record at 5 is late (24 closed its windows); 7 is not.
        let input = [("k1", 10), ("k1", 11), ("k1", 10), ("k1", 13), ("k1", 10), ("k1", 24), ("k1", 5), ("k1", 7), ("k1", 90)] as [(String, Int64)]
        // Kafka Streams' test sorts these by key (as text), then time.
        let updates = try Self.counts(windows, emit: .onUpdate, input: input).enumerated().sorted { left, right in
            let (l, r) = (left.element.split(separator: " "), right.element.split(separator: " "))
            let (lt, rt) = (Int64(l[2].dropFirst())!, Int64(r[2].dropFirst())!)
            return l[0] != r[0] ? l[0] < r[0] : lt != rt ? lt < rt : left.offset < right.offset
        }.map(\.element)
        #expect(updates == [
            "[k1@11/16] 1 t11", "[k1@11/16] 2 t13", "[k1@12/17] 1 t13", "[k1@19/24] 1 t24",
            "[k1@5/10] 1 t10", "[k1@5/10] 2 t10", "[k1@5/10] 3 t10", "[k1@5/10] 4 t10", "[k1@5/10] 5 t10",
            "[k1@6/11] 2 t11", "[k1@6/11] 3 t11", "[k1@6/11] 4 t11", "[k1@6/11] 5 t11",
            "[k1@8/13] 4 t13", "[k1@8/13] 5 t13", "[k1@85/90] 1 t90",
        ])
        #expect(try Self.counts(windows, emit: .onWindowClose, input: input) == [
            "[k1@5/10] 5 t10", "[k1@6/11] 5 t11", "[k1@8/13] 5 t13", "[k1@11/16] 2 t13", "[k1@12/17] 1 t13", "[k1@19/24] 1 t24",
        ])
    }

    @Test func sessionWindows() throws {
        let windows = Windowing.session(.session(gap: .milliseconds(5), grace: .zero))
        // k2's record at 11 closes k1's session [0, 5] (5 + gap < 11): k1's record at 5 is late.
        let input = [("k1", 0), ("k1", 5), ("k1", 1), ("k2", 11), ("k1", 5), ("k1", 30)] as [(String, Int64)]
        #expect(try Self.counts(windows, emit: .onUpdate, input: input) == [
            "[k1@0/0] 1 t0", "[k1@0/0] null t0", "[k1@0/5] 2 t5", "[k1@0/5] null t5", "[k1@0/5] 3 t5", "[k2@11/11] 1 t11", "[k1@30/30] 1 t30",
        ])
        #expect(try Self.counts(windows, emit: .onWindowClose, input: input) == ["[k1@0/5] 3 t5", "[k2@11/11] 1 t11"])
    }
}
