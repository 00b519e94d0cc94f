import CRdKafka

/// A change of a group consumer's assignment, delivered synchronously inside librdkafka's
/// rebalance callback (on the thread that polls), before partitions are taken away.
public enum RebalanceEvent: Sendable, Hashable {
    /// Partitions now owned (eager: the whole new assignment; cooperative: the additions).
    case assigned([TopicPartition])
    /// Partitions about to be taken away. Commit their offsets now: after the handler
    /// returns, they belong to another member.
    case revoked([TopicPartition])
    /// Partitions already owned by someone else (session timed out, fenced): do **not**
    /// commit, just drop their state.
    case lost([TopicPartition])
}

/// The protocol a group consumer rebalances with.
public enum RebalanceProtocol: Sendable {
    case none, eager, cooperative
}

let rebalanceCallback: @convention(c) (
    OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?
) -> Void = { handle, code, partitions, opaque in
    guard let handle, let opaque else { return }
    let context = Unmanaged<ClientContext>.fromOpaque(opaque).takeUnretainedValue()
    let cooperative = currentRebalanceProtocol(handle) == .cooperative
    let changed = partitions.map { readOffsets($0).map(\.topicPartition) } ?? []
    // nil while the consumer is being deinitialized: the assignment must still change.
    let consumer = context.consumer

    func report(_ error: KafkaError) {
        context.logger.error("rebalance: \(error)")
        context.errorHandler?(error)
    }

    switch code {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        if cooperative {
            if let error = rd_kafka_incremental_assign(handle, partitions) { report(KafkaError(consuming: error, context: "assign")) }
        } else {
            let result = rd_kafka_assign(handle, partitions)
            if result != RD_KAFKA_RESP_ERR_NO_ERROR { report(KafkaError(code: result, context: "assign")) }
        }
        context.logger.debug("partitions assigned", metadata: ["partitions": "\(changed)"])
        if let consumer { context.rebalanceHandler?(.assigned(changed), consumer) }
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        let lost = rd_kafka_assignment_lost(handle) != 0
        context.logger.debug("partitions \(lost ? "lost" : "revoked")", metadata: ["partitions": "\(changed)"])
        if let consumer { context.rebalanceHandler?(lost ? .lost(changed) : .revoked(changed), consumer) }
        if cooperative {
            if let error = rd_kafka_incremental_unassign(handle, partitions) { report(KafkaError(consuming: error, context: "unassign")) }
        } else {
            _ = rd_kafka_assign(handle, nil)
        }
    default:
        report(KafkaError(code: code, context: "rebalance failed"))
        _ = rd_kafka_assign(handle, nil)
    }
}

let offsetCommitCallback: @convention(c) (
    OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?
) -> Void = { _, code, _, opaque in
    // Only asynchronous commits end up here with nobody waiting for the result.
    guard code != RD_KAFKA_RESP_ERR_NO_ERROR, code != RD_KAFKA_RESP_ERR__NO_OFFSET, let opaque else { return }
    let context = Unmanaged<ClientContext>.fromOpaque(opaque).takeUnretainedValue()
    let error = KafkaError(code: code, context: "offset commit failed")
    context.logger.warning("\(error)")
    context.errorHandler?(error)
}

func currentRebalanceProtocol(_ handle: OpaquePointer) -> RebalanceProtocol {
    guard let name = rd_kafka_rebalance_protocol(handle) else { return .none }
    switch String(cString: name) {
    case "COOPERATIVE": return .cooperative
    case "EAGER": return .eager
    default: return .none
    }
}
