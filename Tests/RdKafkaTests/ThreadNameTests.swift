import Foundation
import RdKafka
import Synchronization
import Testing

/// Our threads carry names the OS shows (`top -H`, perf, gdb), so a busy or stuck one
/// can be told apart from librdkafka's.
@Suite struct ThreadNameTests {
    @Test func namesAreCutToLinuxLimitAtCharacterBoundaries() {
        #expect(osThreadName("StreamThread-12") == "StreamThread-12")
        #expect(osThreadName("consumer-12:reclaim") == "consumer-12:rec")
        // Two bytes per "é": seven fit in 15 bytes, the eighth would not.
        #expect(osThreadName(String(repeating: "é", count: 9)) == String(repeating: "é", count: 7))
        #expect(osThreadName("") == "")
    }

    @Test func clientThreadsAreNamedByKindInstanceAndRole() {
        #expect(clientThreadName(client: "rdkafka#producer-1", role: "poll") == "producer1:poll")
        #expect(clientThreadName(client: "app-7f3a-StreamThread-1-consumer#consumer-12", role: "work") == "consumer12:work")
        // Past 99 clients of a kind, the role is cut to fit Linux's 15 bytes.
        #expect(clientThreadName(client: "rdkafka#consumer-102", role: "free") == "consumer102:fre")
        #expect(clientThreadName(client: "rdkafka#producer-1003", role: "txn") == "producer1003:tx")
    }

    @Test(.enabled(if: systemThreadNames() != nil, "needs /proc"))
    func aStartedThreadHasItsNameInTheOS() {
        let seen = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        startThread(named: "named-by-test-with-a-long-suffix") {
            seen.withLock { $0 = try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8) }
            done.signal()
        }
        done.wait()
        #expect(seen.withLock { $0 } == "named-by-test-w\n")
    }

    @Test(.enabled(if: systemThreadNames() != nil, "needs /proc"))
    func clientHelperThreadsAreNamed() async throws {
        let cluster = try makeCluster(topics: ["thread-names": 1])
        let producer = try Producer(configuration: producerConfiguration(cluster), logger: testLogger)
        let consumer = try Consumer(configuration: consumerConfiguration(cluster), logger: testLogger)
        let names = Set(try #require(systemThreadNames()))
        #expect(names.contains(clientThreadName(client: producer.clientName, role: "poll")))
        #expect(names.contains(clientThreadName(client: consumer.clientName, role: "work")))
        #expect(names.contains(clientThreadName(client: consumer.clientName, role: "free")))
        try consumer.close()
        producer.close()
    }
}
