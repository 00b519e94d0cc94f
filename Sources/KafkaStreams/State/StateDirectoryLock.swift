import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive lock on a task's state directory (`<dir>/.lock`, `flock`), so two
/// application instances on one host never open the same task's stores. Released on
/// close or when the process dies.
final class StateDirectoryLock {
    let directory: String
    private var descriptor: Int32

    /// Creates the directory if needed and locks it; throws when another instance (or
    /// another thread of this one) holds it.
    init(directory: String) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StreamsError(.configuration, "cannot create state directory \(directory)", underlying: error)
        }
        descriptor = open("\(directory)/.lock", O_CREAT | O_RDWR, 0o644)
        guard descriptor >= 0 else {
            throw StreamsError(.configuration, "cannot open \(directory)/.lock: \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            descriptor = -1
            throw StreamsError(.configuration, "state directory \(directory) is locked by another instance of the application on this host")
        }
    }

    func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
