import Foundation
import KafkaStreams
import Logging

/// Runs a ``Topology`` synchronously with no broker: pipe records into input topics, read
/// what the topology wrote to output topics, move a simulated wall clock.
///
/// It is the same topology object a ``StreamsApp`` runs; records go through the same
/// serdes, processors, error handlers and punctuations. Each sub-topology runs as one
/// task (partition 0); records written to repartition topics are processed before
/// ``TestInputTopic/pipeInput(key:value:timestamp:headers:)`` returns, and the stores are
/// committed after every record.
///
/// A task reading several topics (a merge, a join) processes its records in event-time
/// order, as an application does: everything piped counts as fetched, so with
/// `maxTaskIdle` zero (the default) each record is processed as it is piped; with a longer
/// `maxTaskIdle`, a record waits until every input topic of its task has one, or until
/// ``advanceWallClockTime(by:)`` moves past the wait. Persistent stores live in a temporary state directory
/// that ``close()`` (or deinit) deletes; changelog records can be read as output topics.
///
/// ```swift
/// let driver = try TopologyTestDriver(topology)
/// let input = driver.createInputTopic("clicks", key: .optional(.string), value: .json(Click.self))
/// let output = driver.createOutputTopic("pages", key: .optional(.string), value: .string)
/// try input.pipeInput(key: "u1", value: click)
/// #expect(output.readValuesToList() == ["/home"])
/// ```
public final class TopologyTestDriver {
    let runner: InMemoryTopologyRunner
    private let stateDirectory: String
    private var closed = false

    /// - Parameters:
    ///   - applicationID: the prefix of internal topic names.
    ///   - errorHandlers: as in ``StreamsConfiguration/errorHandlers``.
    ///   - defaultKeySerde, defaultValueSerde: as in ``StreamsConfiguration``.
    ///   - wallClockStart: the simulated wall-clock time, in milliseconds since the epoch.
    ///   - maxTaskIdle, defaultTimestampExtractor: as in ``StreamsConfiguration``.
    public init(
        _ topology: Topology,
        applicationID: String = "test-driver",
        errorHandlers: ErrorHandlers = ErrorHandlers(),
        defaultKeySerde: (any Serde)? = nil,
        defaultValueSerde: (any Serde)? = nil,
        wallClockStart: Int64 = 0,
        maxTaskIdle: Duration? = .zero,
        defaultTimestampExtractor: DefaultTimestampExtractor = .recordTimestamp,
        logger: Logger = Logger(label: "kafka-streams-test-driver")
    ) throws {
        stateDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("kafka-streams-test-driver-\(UInt64.random(in: 0...UInt64.max))").path
        do {
            runner = try InMemoryTopologyRunner(
                topology: topology, applicationID: applicationID, handlers: errorHandlers, defaultKeySerde: defaultKeySerde,
                defaultValueSerde: defaultValueSerde, wallClockStart: wallClockStart, stateDirectory: stateDirectory,
                maxTaskIdle: maxTaskIdle, defaultTimestampExtractor: defaultTimestampExtractor, logger: logger)
        } catch {
            try? FileManager.default.removeItem(atPath: stateDirectory)
            throw error
        }
    }

    deinit { close() }

    /// Closes processors and stores and deletes the temporary state directory.
    public func close() {
        guard !closed else { return }
        closed = true
        runner.close()
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }

    /// The key-value store called `name`, to read (or seed) state in a test.
    public func keyValueStore<Key, Value>(
        named name: String, key: Key.Type = Key.self, value: Value.Type = Value.self
    ) throws -> any KeyValueStore<Key, Value> {
        guard let store = runner.store(named: name) else { throw TestDriverError("the topology has no store named \(name)") }
        guard let typed = store as? any KeyValueStore<Key, Value> else {
            throw TestDriverError("store \(name) does not hold (\(Key.self), \(Value.self)); it is \(type(of: store))")
        }
        return typed
    }

    /// The window store called `name` (a windowed aggregation's), to read in a test.
    public func windowStore<Key, Value>(
        named name: String, key: Key.Type = Key.self, value: Value.Type = Value.self
    ) throws -> any ReadOnlyWindowStore<Key, Value> {
        guard let store = runner.store(named: name) else { throw TestDriverError("the topology has no store named \(name)") }
        guard let typed = store as? any ReadOnlyWindowStore<Key, Value> else {
            throw TestDriverError("store \(name) is not a window store of (\(Key.self), \(Value.self)); it is \(type(of: store))")
        }
        return typed
    }

    /// The session store called `name` (a session aggregation's), to read in a test.
    public func sessionStore<Key, Value>(
        named name: String, key: Key.Type = Key.self, value: Value.Type = Value.self
    ) throws -> any ReadOnlySessionStore<Key, Value> {
        guard let store = runner.store(named: name) else { throw TestDriverError("the topology has no store named \(name)") }
        guard let typed = store as? any ReadOnlySessionStore<Key, Value> else {
            throw TestDriverError("store \(name) is not a session store of (\(Key.self), \(Value.self)); it is \(type(of: store))")
        }
        return typed
    }

    /// A topic to pipe records into, serialized with these serdes.
    public func createInputTopic<Key, Value>(
        _ name: String, key: some Serde<Key>, value: some Serde<Value>
    ) -> TestInputTopic<Key, Value> {
        TestInputTopic(driver: self, name: name, keySerde: key, valueSerde: value)
    }

    /// A topic to read the topology's output from, deserialized with these serdes.
    public func createOutputTopic<Key, Value>(
        _ name: String, key: some Serde<Key>, value: some Serde<Value>
    ) -> TestOutputTopic<Key, Value> {
        TestOutputTopic(driver: self, name: name, keySerde: key, valueSerde: value)
    }

    /// Advances the simulated wall clock and runs the wall-clock punctuations due.
    public func advanceWallClockTime(by duration: Duration) throws {
        try runner.advanceWallClock(byMilliseconds: duration.wholeMilliseconds)
    }

    /// Ends the input, as a bounded run that closes its windows at the end does
    /// (``BoundedRun/closesWindowsAtEnd``): every window not emitted yet gives its final
    /// result, every record an outer join holds is sent without a partner, sub-topology
    /// after sub-topology in the order data flows between them. Records piped afterwards
    /// are processed as usual (those for a closed window are late).
    public func finishInput() throws {
        try runner.finishInput()
    }

    /// The simulated wall-clock time in milliseconds since the epoch.
    public var wallClockTime: Int64 { runner.wallClock }

    /// Records piped but not yet processed: waiting for another input topic of their task
    /// (see `maxTaskIdle`).
    public var queuedRecordCount: Int { runner.queuedCount }

    /// Records skipped by `.continue` or `.deadLetter` error handlers so far.
    public var skippedRecordCount: Int { runner.skippedCount }
}

/// A misuse of the test driver (an unknown store, say).
public struct TestDriverError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
