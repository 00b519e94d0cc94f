import CRocksDB

/// An error reported by RocksDB, classified from its status message.
public struct RocksDBError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Another process, or another handle in this process, holds the database's lock.
        case locked
        /// Files are damaged or not a RocksDB database.
        case corruption
        /// The disk (or quota) is full; the write was not applied.
        case noSpace
        /// Any other I/O failure.
        case io
        /// Bad options or path (e.g. missing database without `createIfMissing`).
        case invalidArgument
        /// The database was closed.
        case closed
        case other
    }

    public let kind: Kind
    /// RocksDB's own message.
    public let message: String
    /// The database directory, when known.
    public let path: String?

    public init(kind: Kind, message: String, path: String? = nil) {
        self.kind = kind
        self.message = message
        self.path = path
    }

    init(rocksMessage message: String, path: String?) {
        let kind: Kind
        if message.contains("lock hold by current process") || message.contains("While lock file")
            || message.contains("LOCK: Resource temporarily unavailable") {
            kind = .locked
        } else if message.hasPrefix("Corruption") {
            kind = .corruption
        } else if message.contains("No space left on device") || message.contains("Disk quota exceeded") {
            kind = .noSpace
        } else if message.hasPrefix("Invalid argument") {
            kind = .invalidArgument
        } else if message.hasPrefix("IO error") {
            kind = .io
        } else {
            kind = .other
        }
        self.init(kind: kind, message: message, path: path)
    }

    public var description: String {
        let location = path.map { " (\($0))" } ?? ""
        return "RocksDBError.\(kind.rawValue)\(location): \(message)"
    }

    /// Runs a RocksDB call that reports failure through an `errptr` and throws it.
    static func check<R>(path: String?, _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> R) throws(RocksDBError) -> R {
        var error: UnsafeMutablePointer<CChar>?
        let result = body(&error)
        if let error {
            let message = String(cString: error)
            rocksdb_free(error)
            throw RocksDBError(rocksMessage: message, path: path)
        }
        return result
    }
}
