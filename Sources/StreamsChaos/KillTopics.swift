import ChaosScenarios
import Foundation
import Logging
import RdKafka

/// A sample's topics on a Kafka of the user's (`kill --bootstrap-servers`): the input and
/// output topics are created through the admin API where missing; the internal ones the
/// sample creates itself. Every one that exists must be empty, since the checks count
/// from the first record: records of an earlier run would read as repeats or losses.
struct KillTopics {
    let scenario: any KillScenario
    let partitions: Int
    let bootstrapServers: String
    let logger: Logger

    func prepare() throws {
        var configuration = KafkaConfiguration()
        configuration["bootstrap.servers"] = bootstrapServers
        let admin = try Admin(configuration: configuration, logger: logger)
        let metadata = try admin.metadata(timeout: .seconds(30))
        let external = [scenario.inputTopic] + scenario.outputTopics
        let missing = external.filter { metadata.topic($0) == nil }
        if !missing.isEmpty {
            try admin.createTopics(missing.map { NewTopic(name: $0, partitions: partitions) }, ifNotExists: true, timeout: .seconds(30))
            emit("created \(missing.joined(separator: ", ")) with \(partitions) partitions on \(bootstrapServers)")
        }
        let reader = try Consumer(configuration: configuration, logger: logger)
        defer { try? reader.close() }
        for topic in scenario.topics {
            guard let found = metadata.topic(topic) else { continue }
            let records = try found.partitions.reduce(Int64(0)) { total, partition in
                let marks = try reader.queryWatermarks(topic: topic, partition: partition.id, timeout: .seconds(30))
                return total + marks.high - marks.low
            }
            guard records == 0 else {
                throw KillRunFailure(
                    "topic \(topic) on \(bootstrapServers) already holds \(records) records; kill needs the sample's topics new "
                        + "(delete \(scenario.topics.joined(separator: ", ")), or use a new cluster)")
            }
        }
    }
}
