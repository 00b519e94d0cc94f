import Foundation
import Synchronization
import KafkaStreams
import Logging

extension SimulatedCluster {
    /// What ``runUntilProcessed(_:configuration:maxRestarts:logger:whenProcessed:restartAfter:)`` went through.
    public struct RunReport: Sendable {
        /// Instances started (1 + the restarts after crashes).
        public var instances: Int
        /// Crashes of those instances.
        public var crashes: Int
        /// Instances that stopped on an error `restartAfter` accepted.
        public var failures = 0
    }

    /// Runs an application on this cluster until it has processed and committed all its
    /// input: each time the cluster crashes the instance (see ``CrashInjection``), a new
    /// one starts on the same state directory, as a restarted process would, with the
    /// local state the dead one left. Create the input topics and write the input first.
    ///
    /// - Parameters:
    ///   - topology: made anew for each instance.
    ///   - configuration: its ``StreamsConfiguration/clients`` are replaced by each
    ///     instance's.
    ///   - whenProcessed: called on the stream thread once everything is committed, before
    ///     the application stops: query its stores there.
    ///   - restartAfter: whether an error an instance stopped with is one to restart
    ///     after, as a supervisor restarts a service that failed on a passing error.
    /// - Throws: the error of an instance that stopped without crashing (and that
    ///   `restartAfter` refused), or ``StreamsError`` when `maxRestarts` is reached.
    public func runUntilProcessed(
        _ topology: @Sendable () throws -> Topology, configuration: StreamsConfiguration, maxRestarts: Int = 1_000,
        logger: Logger, whenProcessed: (@Sendable (StreamsApp) throws -> Void)? = nil,
        restartAfter: (any Error) -> Bool = { _ in false }
    ) async throws -> RunReport {
        var report = RunReport(instances: 0, crashes: 0)
        while report.instances <= maxRestarts {
            report.instances += 1
            let instance = makeInstance()
            var configuration = configuration
            configuration.clients = instance.clients
            let app = try StreamsApp(topology: try topology(), configuration: configuration, logger: logger)
            let checkFailure = FirstError()
            let (group, topics) = (configuration.applicationID, app.sourceTopics)
            // Weakly: the app's clients hold the instance, which holds this handler.
            instance.onIdlePoll { [unowned self, weak app] in
                guard let app, !self.hasUnprocessedRecords(group: group, topics: topics) else { return }
                do { try whenProcessed?(app) } catch { checkFailure.record(error) }
                app.shutdown()
            }
            defer { instance.onIdlePoll(nil) }
            do {
                try await app.run()
                if let error = checkFailure.error { throw error }
                if !instance.hasCrashed { return report }
            } catch where instance.hasCrashed {
                // The process died; a new one starts on the same state directory.
            } catch let error where checkFailure.error == nil && restartAfter(error) {
                report.failures += 1
                continue
            }
            report.crashes += 1
        }
        throw StreamsError(.kafka, "the application was restarted \(report.instances - 1) times without processing all its input")
    }
}

/// The first error seen, across threads.
private final class FirstError: Sendable {
    private let first = Mutex<(any Error)?>(nil)

    func record(_ error: any Error) { first.withLock { if $0 == nil { $0 = error } } }

    var error: (any Error)? { first.withLock { $0 } }
}
