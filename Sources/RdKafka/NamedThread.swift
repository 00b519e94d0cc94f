import CRdKafka
import Foundation

/// Starts `body` on a new thread named `name` where the OS shows threads (`top -H`, perf,
/// gdb, `/proc/PID/task/TID/comm`), so a busy or stuck thread of ours can be told apart
/// from librdkafka's (`rdk:broker1`, ...). Linux keeps the first 15 bytes of a name.
///
/// Returns once the thread carries its name. Foundation's `Thread.name` is not used: on
/// Linux it does not reach the OS.
package func startThread(named name: String, _ body: @escaping @Sendable () -> Void) {
    let osName = osThreadName(name)
    let named = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        _ = swift_kafka_name_current_thread(osName)
        named.signal()
        body()
    }
    named.wait()
}

/// The longest a thread name can be on Linux, in bytes, without its terminating NUL.
private let osThreadNameLimit = 15

/// `name` cut to the OS's limit at a character boundary (Linux refuses longer names).
package func osThreadName(_ name: String) -> String {
    var kept = ""
    for character in name {
        guard kept.utf8.count + character.utf8.count <= osThreadNameLimit else { break }
        kept.append(character)
    }
    return kept
}

/// A short thread name for a client's helper thread: `consumer3:work` for the client that
/// librdkafka calls `app#consumer-3` (its client id, then its kind and instance number),
/// cut as the OS cuts it: from the 100th client of a kind on, the role loses letters
/// (`consumer102:fre`) but still tells the threads apart.
package func clientThreadName(client: String, role: String) -> String {
    let instance = client.split(separator: "#").last.map { $0.replacingOccurrences(of: "-", with: "") } ?? client
    return osThreadName("\(instance):\(role)")
}

/// The names of this process's threads as the OS shows them, read from `/proc`; `nil`
/// where there is no `/proc` (macOS). For checks that our threads are named.
package func systemThreadNames() -> [String]? {
    guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return nil }
    return threads.compactMap { thread in
        (try? String(contentsOfFile: "/proc/self/task/\(thread)/comm", encoding: .utf8))
            .map { $0.trimmingCharacters(in: .newlines) }
    }
}
