import CRdKafka
import Logging

/// State reachable from librdkafka's C callbacks through the configuration's opaque
/// pointer. Its fields are set before the handle exists and never change afterwards,
/// except `consumer`, which is set once, before the first poll can run a callback.
final class ClientContext: @unchecked Sendable {
    let logger: Logger
    let errorHandler: (@Sendable (KafkaError) -> Void)?
    let delivery: DeliveryTracker?
    let rebalanceHandler: (@Sendable (RebalanceEvent, Consumer) -> Void)?
    weak var consumer: Consumer?

    init(
        logger: Logger,
        errorHandler: (@Sendable (KafkaError) -> Void)? = nil,
        delivery: DeliveryTracker? = nil,
        rebalanceHandler: (@Sendable (RebalanceEvent, Consumer) -> Void)? = nil
    ) {
        self.logger = logger
        self.errorHandler = errorHandler
        self.delivery = delivery
        self.rebalanceHandler = rebalanceHandler
    }

    static func from(_ handle: OpaquePointer?) -> ClientContext? {
        guard let handle, let opaque = rd_kafka_opaque(handle) else { return nil }
        return Unmanaged<ClientContext>.fromOpaque(opaque).takeUnretainedValue()
    }
}

/// librdkafka's syslog levels mapped onto swift-log's.
func logLevel(syslog level: Int32) -> Logger.Level {
    switch level {
    case ...2: return .critical
    case 3: return .error
    case 4: return .warning
    case 5: return .notice
    case 6: return .info
    default: return .debug
    }
}

let logCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = {
    handle, level, facility, message in
    guard let context = ClientContext.from(handle) else { return }
    let swiftLevel = logLevel(syslog: level)
    // librdkafka is chatty at notice level about things a service log should not carry.
    let adjusted: Logger.Level = swiftLevel == .notice ? .info : swiftLevel
    context.logger.log(
        level: adjusted,
        "\(message.map { String(cString: $0) } ?? "")",
        metadata: ["rdkafka.facility": "\(facility.map { String(cString: $0) } ?? "")"]
    )
}

let errorCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
    handle, code, reason, opaque in
    guard let opaque else { return }
    let context = Unmanaged<ClientContext>.fromOpaque(opaque).takeUnretainedValue()
    let native = rd_kafka_resp_err_t(rawValue: code)
    var error = KafkaError(code: native, handle: handle)
    if native != RD_KAFKA_RESP_ERR__FATAL, let reason {
        error = KafkaError(code: error.code, message: String(cString: reason), classification: error.classification)
    }
    context.logger.log(level: error.isFatal ? .critical : .warning, "client error: \(error)")
    context.errorHandler?(error)
}
