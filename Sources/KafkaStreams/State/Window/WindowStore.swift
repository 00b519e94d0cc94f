/// What interactive queries read from a window store: each key's aggregate per window.
/// Times are milliseconds since the epoch; a window is found by its start. Windows older
/// than the store's retention may be gone (whole segments of time expire together).
public protocol ReadOnlyWindowStore<Key, Value>: AnyObject {
    associatedtype Key
    associatedtype Value

    /// The store's name (unique in a topology).
    var name: String { get }

    /// `key`'s aggregate in the window starting at `windowStart`, or `nil`.
    func fetch(_ key: Key, windowStart: Int64) throws -> Value?

    /// `key`'s windows starting in `from...to`, by start.
    func fetch(_ key: Key, from: Int64, to: Int64) throws -> [(window: Window, value: Value)]

    /// Every key's windows starting in `from...to`, by start, then key bytes.
    func fetchAll(from: Int64, to: Int64) throws -> [(key: Windowed<Key>, value: Value)]
}

extension TypedWindowStore: ReadOnlyWindowStore {
    @usableFromInline
    func fetch(_ key: Key, windowStart: Int64) throws -> Value? {
        try fetch(key, from: windowStart, to: windowStart).first?.value
    }

    @usableFromInline
    func fetch(_ key: Key, from: Int64, to: Int64) throws -> [(window: Window, value: Value)] {
        try fetch(key, from: max(from, try firstLiveTime()), through: to).map { (Window(start: $0.window, end: $0.window + windowSize), $0.value) }
    }

    @usableFromInline
    func fetchAll(from: Int64, to: Int64) throws -> [(key: Windowed<Key>, value: Value)] {
        try windows(from: max(from, try firstLiveTime()), through: to).map { window in
            let key = try window.key.withUnsafeBytes { try keySerde.decode($0) }
            return (Windowed(key: key, window: Window(start: window.start, end: window.start + windowSize)), window.value)
        }
    }
}

/// What interactive queries read from a session store: each key's sessions with their
/// aggregates. Sessions older than the store's retention may be gone.
public protocol ReadOnlySessionStore<Key, Value>: AnyObject {
    associatedtype Key
    associatedtype Value

    /// The store's name (unique in a topology).
    var name: String { get }

    /// `key`'s sessions that end at or after `earliestEnd` and start at or before
    /// `latestStart`, by end then start.
    func findSessions(_ key: Key, earliestEnd: Int64, latestStart: Int64) throws -> [(window: Window, value: Value)]
}

extension ReadOnlySessionStore {
    /// Every session of `key` the store holds, by end then start.
    public func sessions(of key: Key) throws -> [(window: Window, value: Value)] {
        try findSessions(key, earliestEnd: 0, latestStart: .max)
    }
}

extension TypedSessionStore: ReadOnlySessionStore {
    @usableFromInline
    func findSessions(_ key: Key, earliestEnd: Int64, latestStart: Int64) throws -> [(window: Window, value: Value)] {
        guard let keyBytes = try keyBytes(key) else { return [] }
        // No session ends after the operator's stream time.
        let latestEnd = try observedStreamTime()
        return try findSessions(keyBytes, earliestEnd: max(earliestEnd, try firstLiveTime()), latestStart: latestStart, latestEnd: latestEnd)
            .map { ($0.window, $0.value) }
    }
}
