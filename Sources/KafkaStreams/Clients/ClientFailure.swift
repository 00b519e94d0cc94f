/// An error of the Kafka client itself met while a record was processed: a simulated
/// crash, or under exactly-once a send that failed the whole transaction. It passes
/// through processors and error handlers unchanged (no handler may skip it), up to the
/// stream thread, which crashes, aborts the transaction, or rejoins.
struct ClientFailure: Error, CustomStringConvertible {
    let underlying: any Error

    var description: String { "\(underlying)" }
}

extension ClientFailure: AttributedFailure {}
