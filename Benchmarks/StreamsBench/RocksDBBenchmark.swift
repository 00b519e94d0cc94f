import ArgumentParser
import CBaseline
import Foundation
import RdKafka
import RocksDB

/// Batched puts then random gets through the RocksDB wrapper, against the same in C
/// (Benchmarks/CBaseline/rocksdb.c): same keys, values, batch size and read order.
struct RocksDBBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rocksdb", abstract: "Batched puts and random gets through RocksDB vs plain C.")

    @Option(help: "Records to put.") var records = 1_000_000
    @Option(help: "Random gets after the puts.") var gets = 1_000_000
    @Option(help: "Puts per write batch.") var batchSize = 1000
    @Option(help: "Bytes per value.") var valueBytes = 100
    @Option(help: "Rounds of each implementation.") var rounds = 4
    @Option(help: "Directory for the databases (removed afterwards).")
    var directory = FileManager.default.temporaryDirectory.appendingPathComponent("streams-bench-rocksdb").path

    private static let seed: UInt64 = 0x9E37_79B9_7F4A_7C15

    func run() throws {
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let operations = Double(records + gets)
        var swift: [(put: Double, get: Double)] = []
        var c: [(put: Double, get: Double)] = []
        for round in 0..<rounds {
            let measureC = {
                let times = try runC(path: "\(directory)/c-\(round)")
                c.append(times)
                progress("round \(round): C     puts \(Int(Double(records) / times.put))/s, gets \(Int(Double(gets) / times.get))/s")
            }
            let measureSwift = {
                let times = try runSwift(path: "\(directory)/swift-\(round)")
                swift.append(times)
                progress("round \(round): Swift puts \(Int(Double(records) / times.put))/s, gets \(Int(Double(gets) / times.get))/s")
            }
            try alternate(round: round, measureC, measureSwift)
        }
        let bestSwift = swift.min { $0.put + $0.get < $1.put + $1.get }!
        let bestC = c.min { $0.put + $0.get < $1.put + $1.get }!
        try BenchmarkReport(
            bench: "rocksdb", records: records + gets,
            rate: operations / (bestSwift.put + bestSwift.get),
            baseline: "c-rocksdb", baselineRate: operations / (bestC.put + bestC.get),
            details: [
                "puts": Double(records), "gets": Double(gets), "batch_size": Double(batchSize), "value_bytes": Double(valueBytes),
                "swift_put_rate": (Double(records) / bestSwift.put).rounded(), "swift_get_rate": (Double(gets) / bestSwift.get).rounded(),
                "c_put_rate": (Double(records) / bestC.put).rounded(), "c_get_rate": (Double(gets) / bestC.get).rounded(),
            ]
        ).print()
    }

    private func runC(path: String) throws -> (put: Double, get: Double) {
        var puts = cbaseline_result()
        var reads = cbaseline_result()
        var error = [CChar](repeating: 0, count: 512)
        guard cbaseline_rocksdb(path, Int64(records), Int32(batchSize), Int32(valueBytes), Int64(gets), Self.seed, &puts, &reads, &error, error.count) == 0 else {
            throw BenchmarkFailure("C rocksdb: \(cMessage(error))")
        }
        guard reads.failures == 0 else { throw BenchmarkFailure("C rocksdb: \(reads.failures) keys missing") }
        return (puts.seconds, reads.seconds)
    }

    private func runSwift(path: String) throws -> (put: Double, get: Double) {
        // The C baseline's options: no bloom filter, so only the wrapper differs.
        let database = try Database(path: path, options: DatabaseOptions(compression: .lz4, maxOpenFiles: 1000, bloomFilterBitsPerKey: 0))
        defer { database.close() }
        var key = [UInt8](repeating: 0, count: 16)
        var value = [UInt8](repeating: 0, count: valueBytes)
        var fill = Self.seed
        for index in value.indices { value[index] = UInt8(xorshift64(&fill) & 0x7F) }

        let clock = ContinuousClock()
        var start = clock.now
        let batch = WriteBatch()
        for index in 0..<records {
            formatKey(&key, index)
            value[0] = UInt8(truncatingIfNeeded: index)
            batch.put(key, value)
            if batch.count == batchSize || index == records - 1 {
                try database.write(batch)
                batch.clear()
            }
        }
        let putSeconds = (clock.now - start).fractionalSeconds

        var state = Self.seed
        var missing = 0
        start = clock.now
        for _ in 0..<gets {
            formatKey(&key, Int(xorshift64(&state) % UInt64(records)))
            if try database.get(key)?.count != valueBytes { missing += 1 }
        }
        let getSeconds = (clock.now - start).fractionalSeconds
        guard missing == 0 else { throw BenchmarkFailure("Swift rocksdb: \(missing) keys missing") }
        return (putSeconds, getSeconds)
    }
}

/// The same generator as the C baseline, so both read the same keys in the same order.
func xorshift64(_ state: inout UInt64) -> UInt64 {
    var x = state
    x ^= x << 13
    x ^= x >> 7
    x ^= x << 17
    state = x
    return x
}

/// "key-" and the index as 12 zero-padded digits, written into a reused 16-byte buffer.
func formatKey(_ key: inout [UInt8], _ index: Int) {
    key[0] = UInt8(ascii: "k"); key[1] = UInt8(ascii: "e"); key[2] = UInt8(ascii: "y"); key[3] = UInt8(ascii: "-")
    var remaining = index
    for digit in stride(from: 15, through: 4, by: -1) {
        key[digit] = UInt8(ascii: "0") + UInt8(remaining % 10)
        remaining /= 10
    }
}
