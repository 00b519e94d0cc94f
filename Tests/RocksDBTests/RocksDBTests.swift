import Foundation
import RocksDB
import Testing

private func temporaryDirectory(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("rocksdb-tests-\(name)-\(UUID().uuidString)").path
}

/// Runs `body` with a fresh directory path, removed afterwards.
private func withTemporaryDirectory<R>(_ name: String, _ body: (String) throws -> R) rethrows -> R {
    let path = temporaryDirectory(name)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

@Suite struct RocksDBTests {
    @Test func putGetDeleteAndBatches() throws {
        try withTemporaryDirectory("basic") { path in
            let database = try Database(path: path)
            #expect(try database.get(bytes("missing")) == nil)
            try database.put(bytes("a"), bytes("1"))
            try database.put(bytes("empty"), [])
            #expect(try database.get(bytes("a")) == bytes("1"))
            #expect(try database.get(bytes("empty")) == [])
            try database.delete(bytes("a"))
            #expect(try database.get(bytes("a")) == nil)

            let batch = WriteBatch()
            for index in 0..<100 { batch.put(bytes(String(format: "k%03d", index)), bytes("v\(index)")) }
            batch.delete(bytes("k050"))
            #expect(batch.count == 101)
            try database.write(batch)
            #expect(try database.get(bytes("k099")) == bytes("v99"))
            #expect(try database.get(bytes("k050")) == nil)

            let ranged = WriteBatch()
            ranged.deleteRange(from: bytes("k010"), to: bytes("k020"))
            try database.write(ranged)
            #expect(try database.get(bytes("k015")) == nil)
            #expect(try database.get(bytes("k020")) == bytes("v20"))

            // Prefixed writes land under the joined key; empty parts are allowed.
            let prefixed = WriteBatch()
            bytes("key").withUnsafeBytes { key in
                bytes("value").withUnsafeBytes { prefixed.put(prefix: bytes("ns:"), key: key, value: $0) }
            }
            [UInt8]().withUnsafeBytes { empty in prefixed.put(prefix: bytes("ns:"), key: empty, value: empty) }
            bytes("k099").withUnsafeBytes { prefixed.delete(prefix: [], key: $0) }
            try database.write(prefixed)
            #expect(try database.get(bytes("ns:key")) == bytes("value"))
            #expect(try database.get(bytes("ns:")) == [])
            #expect(try database.get(bytes("k099")) == nil)
        }
    }

    @Test func rangeAndPrefixIterateInKeyOrder() throws {
        try withTemporaryDirectory("iterate") { path in
            let database = try Database(path: path)
            let batch = WriteBatch()
            for key in ["user:3", "user:1", "order:9", "user:2", "users", "user;0", "zeta"] { batch.put(bytes(key), bytes("v-" + key)) }
            batch.put([0x61, 0xFF], bytes("ff"))
            batch.put([0x61, 0xFF, 0xFF], bytes("ffff"))
            batch.put([0x62], bytes("b"))
            try database.write(batch)

            let everything = Array(try database.range()).map(\.key)
            #expect(everything.count == 10)
            #expect(everything == everything.sorted { $0.lexicographicallyPrecedes($1) })
            #expect(Array(try database.prefix(bytes("user:"))).map { text($0.key) } == ["user:1", "user:2", "user:3"])
            #expect(Array(try database.prefix(bytes("user:"))).map { text($0.value) } == ["v-user:1", "v-user:2", "v-user:3"])
            #expect(Array(try database.range(from: bytes("user:2"), to: bytes("users"))).map { text($0.key) } == ["user:2", "user:3", "user;0"])
            #expect(Array(try database.range(from: bytes("user;"))).map { text($0.key) } == ["user;0", "users", "zeta"])
            // A prefix ending in 0xFF: its upper bound carries into the previous byte.
            #expect(Array(try database.prefix([0x61, 0xFF])).map(\.key) == [[0x61, 0xFF], [0x61, 0xFF, 0xFF]])
            #expect(try database.approximateCount() > 0)
            let iterator = try database.range()
            while iterator.next() != nil {}
            try iterator.checkStatus()
        }
    }

    @Test func dataSurvivesCloseAndReopen() throws {
        try withTemporaryDirectory("reopen") { path in
            do {
                let database = try Database(path: path)
                try database.put(bytes("unflushed"), bytes("in the write-ahead log"))
                try database.put(bytes("flushed"), bytes("in a table file"))
                try database.flush()
                try database.put(bytes("after-flush"), bytes("again in the log"))
                database.close()
                #expect(throws: RocksDBError.self) { try database.get(bytes("flushed")) }
            }
            let reopened = try Database(path: path, options: DatabaseOptions(createIfMissing: false))
            #expect(try reopened.get(bytes("unflushed")) == bytes("in the write-ahead log"))
            #expect(try reopened.get(bytes("flushed")) == bytes("in a table file"))
            #expect(try reopened.get(bytes("after-flush")) == bytes("again in the log"))
        }
    }

    @Test func secondOpenOfALockedDirectoryIsALockedError() throws {
        try withTemporaryDirectory("locked") { path in
            let first = try Database(path: path)
            let error = #expect(throws: RocksDBError.self) { _ = try Database(path: path) }
            #expect(error?.kind == .locked)
            #expect(error?.path == path)
            #expect(error?.message.contains("LOCK") == true)
            first.close()
            // The lock is released with the first handle.
            let second = try Database(path: path)
            second.close()
        }
    }

    @Test func damagedFilesAreACorruptionError() throws {
        try withTemporaryDirectory("corrupt") { path in
            do {
                let database = try Database(path: path)
                try database.put(bytes("k"), bytes("v"))
                try database.flush()
                database.close()
            }
            let files = try FileManager.default.contentsOfDirectory(atPath: path)
            let manifest = try #require(files.first { $0.hasPrefix("MANIFEST-") })
            try Data(repeating: 0xAB, count: 4096).write(to: URL(fileURLWithPath: path + "/" + manifest))
            let error = #expect(throws: RocksDBError.self) { _ = try Database(path: path) }
            #expect(error?.kind == .corruption)
            #expect(error.map { "\($0)".contains(path) } == true)
        }
    }

    @Test func missingDatabaseWithoutCreateIsAnInvalidArgument() {
        withTemporaryDirectory("missing") { path in
            let error = #expect(throws: RocksDBError.self) { _ = try Database(path: path, options: DatabaseOptions(createIfMissing: false)) }
            #expect(error?.kind == .invalidArgument)
        }
    }

    @Test func destroyRemovesTheDatabase() throws {
        try withTemporaryDirectory("destroy") { path in
            do {
                let database = try Database(path: path)
                try database.put(bytes("k"), bytes("v"))
                database.close()
            }
            try Database.destroy(path: path)
            let reopened = try Database(path: path)
            #expect(try reopened.get(bytes("k")) == nil)
        }
    }

    /// Writes `rounds` 1 KB values round-robin into four databases; returns the peaks of
    /// mutable and of all memtable memory, summed over them.
    private func peakMemtableBytes(resources: RocksDBResources?, rounds: Int) throws -> (active: Int, all: Int) {
        let paths = (0..<4).map { temporaryDirectory("memtables-\($0)") }
        defer { paths.forEach { try? FileManager.default.removeItem(atPath: $0) } }
        let databases = try paths.map { try Database(path: $0, options: DatabaseOptions(resources: resources, compression: .none)) }
        let value = [UInt8](repeating: 7, count: 1000)
        func total(_ property: String) throws -> Int {
            try databases.reduce(0) { $0 + (Int(try $1.property(property) ?? "0") ?? 0) }
        }
        var peak = (active: 0, all: 0)
        for round in 0..<rounds {
            try databases[round % databases.count].put(bytes("key-\(round)"), value)
            if round % 500 == 0 {
                peak.active = max(peak.active, try total("rocksdb.cur-size-active-mem-table"))
                peak.all = max(peak.all, try total("rocksdb.cur-size-all-mem-tables"))
                // Memtables switched out count until their flush ends, which a slow disk (or
                // other tests flushing) can hold up while the writes go on: what is measured
                // then is the disk, not the budget. So the flushes asked for so far finish
                // before the next 500 KB.
                try waitForFlushes(of: databases)
            }
        }
        for (index, database) in databases.enumerated() {
            #expect(try database.get(bytes("key-\(index)")) == value)
        }
        return peak
    }

    /// Waits until no database holds a memtable switched out and not yet flushed.
    private func waitForFlushes(of databases: [Database]) throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while try databases.contains(where: { try $0.property("rocksdb.num-immutable-mem-table") != "0" }) {
            guard ContinuousClock.now < deadline else {
                Issue.record("memtables switched out were still not flushed after 60 s")
                return
            }
            Thread.sleep(forTimeInterval: 0.002)
        }
    }

    @Test func sharedResourcesBoundMemtablesAcrossDatabases() throws {
        // 60 MB written into four databases.
        let rounds = 60_000
        let budget = 4 << 20
        let resources = RocksDBResources(blockCacheBytes: 16 << 20, writeBufferBytes: budget)
        let bounded = try peakMemtableBytes(resources: resources, rounds: rounds)
        let unbounded = try peakMemtableBytes(resources: nil, rounds: rounds)
        // Without a shared budget the memtables grow with the data (each database's own
        // 64 MiB buffer never fills); with it the mutable memtables are switched out once
        // together they pass the budget. The manager is a soft limit: it asks only the database
        // being written to switch, and memtables already switched out count until their flush
        // finishes, which depends on the disk and on the other tests flushing at the same
        // time (the measurement lets those flushes finish every 500 KB; without that, a slow
        // disk once let the mutable peak reach 4.75 budgets). The bound asserted is one budget
        // per database, still a quarter of the unbounded peak.
        #expect(unbounded.active > 40 << 20)
        #expect(bounded.active <= 4 * budget)
        #expect(bounded.active < unbounded.active / 3)
        #expect(bounded.all < unbounded.all / 2)
        #expect(resources.blockCacheUsage <= resources.blockCacheBytes)
    }
}
