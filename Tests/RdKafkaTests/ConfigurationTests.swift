@testable import RdKafka
import Testing

@Suite struct ConfigurationTests {
    @Test func typedPropertiesAreViewsOfTheDictionary() {
        var configuration = KafkaConfiguration()
        configuration.bootstrapServers = ["a:9092", "b:9092"]
        configuration.acks = .all
        configuration.isolationLevel = .readCommitted
        configuration.sessionTimeout = .seconds(6)
        #expect(configuration["bootstrap.servers"] == "a:9092,b:9092")
        #expect(configuration["acks"] == "all")
        #expect(configuration["isolation.level"] == "read_committed")
        #expect(configuration["session.timeout.ms"] == "6000")
        configuration["acks"] = "-1"
        #expect(configuration.acks == .all)
    }

    @Test func unknownKeyThrowsNamingTheKey() {
        var configuration = KafkaConfiguration()
        configuration["boostrap.servers"] = "localhost:9092"
        let error = #expect(throws: KafkaError.self) { try configuration.validate() }
        #expect(error?.configurationKey == "boostrap.servers")
        #expect(error?.message.contains("boostrap.servers") == true)
    }

    @Test func invalidValueThrowsNamingTheKey() {
        var configuration = KafkaConfiguration()
        configuration["acks"] = "sometimes"
        let error = #expect(throws: KafkaError.self) {
            _ = try Producer(configuration: configuration, logger: testLogger)
        }
        #expect(error?.configurationKey == "acks")
        #expect(error?.classification == .permanent)
    }

    @Test func secretsNeverAppearInDescriptionOrErrors() {
        var configuration = KafkaConfiguration()
        configuration.saslUsername = "alice"
        configuration.saslPassword = "hunter2-very-secret"
        configuration["ssl.key.password"] = "pem-pass-123"
        #expect(!configuration.description.contains("hunter2"))
        #expect(!configuration.description.contains("pem-pass-123"))
        #expect(configuration.description.contains("sasl.username=alice"))

        // Errors are built from librdkafka's text, which may echo a value.
        let echoed = "Invalid value \"hunter2-very-secret\" for configuration property \"sasl.password\""
        let redacted = configuration.redactingSecrets(in: echoed)
        #expect(!redacted.contains("hunter2"))
        #expect(redacted.contains("[redacted]"))
    }

    @Test func transactionalProducerNeedsATransactionalID() throws {
        let error = #expect(throws: KafkaError.self) {
            _ = try TransactionalProducer(configuration: KafkaConfiguration(), logger: testLogger)
        }
        #expect(error?.configurationKey == "transactional.id")
    }
}
