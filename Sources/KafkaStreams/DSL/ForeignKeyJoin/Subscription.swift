/// What a left row's subscription asks of the foreign side of a foreign-key join (Kafka
/// Streams' `SubscriptionWrapper.Instruction`).
enum SubscriptionInstruction: UInt8, Sendable {
    /// Forget the subscription and answer with no foreign value: the row was deleted, or
    /// no longer has a foreign key, so its result row goes.
    case unsubscribeAndRespond = 0
    /// Forget the subscription without answering: the row moved to another foreign key,
    /// whose side answers for it.
    case unsubscribe = 1
    /// Subscribe, and answer even when the foreign table has no row for the key (a left
    /// join's row, or a result that must be deleted).
    case subscribeAndRespond = 2
    /// Subscribe, and answer only when the foreign table has a row for the key.
    case subscribeAndRespondIfFound = 3
}

/// A left row's subscription to a foreign key, sent through the subscription topic keyed
/// by the foreign key.
struct Subscription: Sendable, Equatable {
    var instruction: SubscriptionInstruction
    /// The hash of the left row's value the subscription is for (`nil`: the row was
    /// deleted); it comes back in the response, which is dropped unless it still matches.
    var valueHash: Murmur3Hash128?
    /// The left row's key, serialized.
    var primaryKey: [UInt8]
    /// The partition of the left row's task, where the answer goes: the left table's input
    /// may have been partitioned otherwise than by our producers' partitioner.
    var primaryPartition: Int32
}

/// The foreign side's answer to a subscription, sent through the response topic keyed by
/// the left row's key.
struct SubscriptionResponse: Sendable, Equatable {
    /// The subscription's ``Subscription/valueHash``.
    var valueHash: Murmur3Hash128?
    /// The foreign row's value, serialized (`nil`: no row).
    var foreignValue: [UInt8]?
    /// The subscription's ``Subscription/primaryPartition``: the partition of the response
    /// topic the answer is written to.
    var primaryPartition: Int32
}

/// The wire formats of ``Subscription`` and ``SubscriptionResponse`` (internal topics, read
/// only by the application's own tasks): a version byte (0), then
/// - subscription: the instruction byte, a flag byte (1: a hash follows), the hash's two
///   64-bit halves (big endian), the primary partition (i32 big endian), the primary key's
///   bytes;
/// - response: a flag byte (bit 0: a hash follows, bit 1: a foreign value follows), the
///   hash, the primary partition, the foreign value's bytes.
enum SubscriptionFormat {
    static let version: UInt8 = 0

    static func append(_ hash: Murmur3Hash128, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: hash.first.bigEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: hash.second.bigEndian) { bytes.append(contentsOf: $0) }
    }

    static func readHash(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws -> Murmur3Hash128 {
        guard bytes.count - offset >= 16 else { throw SerdeError.wrongSize(expected: offset + 16, actual: bytes.count) }
        return Murmur3Hash128(
            first: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)),
            second: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)))
    }

    static func append(_ partition: Int32, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: partition.bigEndian) { bytes.append(contentsOf: $0) }
    }

    static func readPartition(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws -> Int32 {
        guard bytes.count - offset >= 4 else { throw SerdeError.wrongSize(expected: offset + 4, actual: bytes.count) }
        return Int32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self))
    }

    static func checkVersion(_ bytes: UnsafeRawBufferPointer, minimumSize: Int) throws {
        guard bytes.count >= minimumSize else { throw SerdeError.wrongSize(expected: minimumSize, actual: bytes.count) }
        guard bytes[0] == version else { throw SerdeError.unsupportedFormat("foreign-key join message of version \(bytes[0]); this build reads version \(version)") }
    }
}

struct SubscriptionSerde: Serde {
    func serialize(_ subscription: Subscription, into bytes: inout [UInt8]) throws {
        bytes.append(SubscriptionFormat.version)
        bytes.append(subscription.instruction.rawValue)
        bytes.append(subscription.valueHash == nil ? 0 : 1)
        if let hash = subscription.valueHash { SubscriptionFormat.append(hash, to: &bytes) }
        SubscriptionFormat.append(subscription.primaryPartition, to: &bytes)
        bytes.append(contentsOf: subscription.primaryKey)
    }

    func deserialize(_ bytes: UnsafeRawBufferPointer) throws -> Subscription {
        try SubscriptionFormat.checkVersion(bytes, minimumSize: 3)
        guard let instruction = SubscriptionInstruction(rawValue: bytes[1]) else {
            throw SerdeError.unsupportedFormat("unknown foreign-key subscription instruction \(bytes[1])")
        }
        let hash = bytes[2] == 1 ? try SubscriptionFormat.readHash(bytes, at: 3) : nil
        let partitionAt = hash == nil ? 3 : 19
        return Subscription(
            instruction: instruction, valueHash: hash, primaryKey: Array(bytes[(partitionAt + 4)...]),
            primaryPartition: try SubscriptionFormat.readPartition(bytes, at: partitionAt))
    }
}

struct SubscriptionResponseSerde: Serde {
    func serialize(_ response: SubscriptionResponse, into bytes: inout [UInt8]) throws {
        bytes.append(SubscriptionFormat.version)
        bytes.append((response.valueHash == nil ? 0 : 1) | (response.foreignValue == nil ? 0 : 2))
        if let hash = response.valueHash { SubscriptionFormat.append(hash, to: &bytes) }
        SubscriptionFormat.append(response.primaryPartition, to: &bytes)
        if let value = response.foreignValue { bytes.append(contentsOf: value) }
    }

    func deserialize(_ bytes: UnsafeRawBufferPointer) throws -> SubscriptionResponse {
        try SubscriptionFormat.checkVersion(bytes, minimumSize: 2)
        let flags = bytes[1]
        let hash = flags & 1 != 0 ? try SubscriptionFormat.readHash(bytes, at: 2) : nil
        let partitionAt = hash == nil ? 2 : 18
        let partition = try SubscriptionFormat.readPartition(bytes, at: partitionAt)
        return SubscriptionResponse(valueHash: hash, foreignValue: flags & 2 != 0 ? Array(bytes[(partitionAt + 4)...]) : nil, primaryPartition: partition)
    }
}

/// The key of a subscription in the foreign side's subscription store: the foreign key's
/// length (u32 big endian), its bytes, then the primary key's, so the subscriptions of
/// one foreign key are one prefix scan.
enum SubscriptionStoreKey {
    static func prefix(foreignKey: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4 + foreignKey.count)
        withUnsafeBytes(of: UInt32(foreignKey.count).bigEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: foreignKey)
        return bytes
    }

    static func key(foreignKey: [UInt8], primaryKey: [UInt8]) -> [UInt8] {
        prefix(foreignKey: foreignKey) + primaryKey
    }

    /// The primary key of a stored subscription key whose foreign key is `prefix`'s.
    static func primaryKey(of key: [UInt8], prefix: [UInt8]) -> [UInt8] {
        Array(key[prefix.count...])
    }
}
