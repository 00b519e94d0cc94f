import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive lock on a state directory (`<dir>/.lock`, `flock`): on an application's
/// directory, so two instances never share one (and with it the instance id that names
/// their transactional ids); on a task's directory, so two stream threads never open the
/// same task's stores. Released on ``release()``, at deinit, or when the process dies.
final class StateDirectoryLock: Sendable {
    let directory: String
    private let descriptor: Mutex<Int32>

    /// Creates the directory if needed and locks it.
    ///
    /// - Parameter heldMessage: what the error says when another holder has the lock.
    /// - Throws: ``StreamsError`` of kind `.configuration` when the directory cannot be
    ///   created or another instance (or another thread of this one) holds it.
    init(directory: String, heldMessage: String? = nil) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StreamsError(.configuration, "cannot create state directory \(directory)", underlying: error)
        }
        let opened = open("\(directory)/.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard opened >= 0 else {
            throw StreamsError(.configuration, "cannot open \(directory)/.lock: \(String(cString: strerror(errno)))")
        }
        guard flock(opened, LOCK_EX | LOCK_NB) == 0 else {
            close(opened)
            throw StreamsError(
                .configuration, heldMessage ?? "state directory \(directory) is locked by another instance of the application on this host")
        }
        descriptor = Mutex(opened)
    }

    func release() {
        descriptor.withLock { descriptor in
            guard descriptor >= 0 else { return }
            flock(descriptor, LOCK_UN)
            close(descriptor)
            descriptor = -1
        }
    }

    deinit { release() }
}
