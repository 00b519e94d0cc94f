import Foundation

/// The id of an application instance, kept in its state directory: an instance restarted
/// on the same directory is the same instance, and its threads keep their transactional
/// ids, so the restart fences whatever its predecessor left open (as Kafka Streams'
/// `kafka-streams-process-metadata` file does).
enum ProcessIdentity {
    static let fileName = "kafka-streams-process-metadata"

    /// Reads the id from `<stateDirectory>/<applicationID>/`, creating it on first use.
    static func load(stateDirectory: String, applicationID: String) throws -> String {
        let directory = "\(stateDirectory)/\(applicationID)"
        let path = "\(directory)/\(fileName)"
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !id.isEmpty, id.allSatisfy(\.isHexDigit) { return id }
        }
        let id = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // Written aside and renamed, so a crash never leaves a half-written id.
            try Data((id + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw StreamsError(.configuration, "cannot keep the instance id in the state directory \(directory)", underlying: error)
        }
        return id
    }
}
