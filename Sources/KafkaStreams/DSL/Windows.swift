/// A span of event time, in milliseconds since the epoch. Time windows are half-open,
/// `[start, end)`; sliding and session windows include their end.
public struct Window: Hashable, Sendable, CustomStringConvertible {
    public var start: Int64
    public var end: Int64

    public init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }

    public var description: String { "\(start)/\(end)" }
}

/// A key of a windowed aggregation: the record key and the window it was aggregated in.
/// Printed `[key@start/end]`, as Kafka Streams prints it.
public struct Windowed<Key>: CustomStringConvertible {
    public var key: Key
    public var window: Window

    public init(key: Key, window: Window) {
        self.key = key
        self.window = window
    }

    public var description: String { "[\(key)@\(window)]" }
}

extension Windowed: Sendable where Key: Sendable {}
extension Windowed: Equatable where Key: Equatable {}
extension Windowed: Hashable where Key: Hashable {}

/// Fixed-size windows aligned to the epoch: tumbling (each record in one window) or hopping
/// (windows every `advance`, each record in `size / advance` of them). Grace is how long
/// after its end a window still takes records; it is given explicitly, never a hidden
/// default.
///
/// ```swift
/// grouped.windowedBy(.tumbling(size: .seconds(60), grace: .seconds(10)))
/// ```
public struct TimeWindows: Sendable, Hashable {
    /// Window length in milliseconds.
    public let size: Int64
    /// Distance between window starts in milliseconds (`size` for tumbling windows).
    public let advance: Int64
    /// How long past its end a window still accepts records, in milliseconds.
    public let grace: Int64

    /// Windows `[n·size, (n+1)·size)`: each record in exactly one.
    public static func tumbling(size: Duration, grace: Duration) -> TimeWindows {
        TimeWindows(size: size.wholeMilliseconds, advance: size.wholeMilliseconds, grace: grace.wholeMilliseconds)
    }

    /// Windows `[s, s + size)` for every multiple `s` of `advance`: a record is in every one
    /// that contains its time.
    public static func hopping(size: Duration, advance: Duration, grace: Duration) -> TimeWindows {
        TimeWindows(size: size.wholeMilliseconds, advance: advance.wholeMilliseconds, grace: grace.wholeMilliseconds)
    }

    /// Whether each record falls in exactly one window.
    public var isTumbling: Bool { advance == size }

    /// The starts of the windows that contain `timestamp`, ascending (Kafka Streams'
    /// `windowsFor`): every multiple of `advance` in `(timestamp − size, timestamp]`, and
    /// not before 0.
    public func windowStarts(containing timestamp: Int64) -> StrideThrough<Int64> {
        let first = (max(0, timestamp - size + advance) / advance) * advance
        return stride(from: first, through: timestamp, by: Int(advance))
    }

    /// The start of the latest window holding `timestamp`.
    @usableFromInline func latestStart(containing timestamp: Int64) -> Int64 { (timestamp / advance) * advance }

    /// The window starting at `start`.
    public func window(startingAt start: Int64) -> Window { Window(start: start, end: start + size) }

    /// The shortest retention that keeps a window until it closes: `size + grace`.
    public var minimumRetention: Int64 { size + grace }

    /// What is wrong with these windows, if anything.
    public var problem: String? {
        if size <= 0 { return "window size must be positive, got \(size) ms" }
        if advance <= 0 || advance > size { return "window advance must be in 1...\(size) ms (the size), got \(advance) ms" }
        if grace < 0 { return "grace must be zero or more, got \(grace) ms" }
        return nil
    }
}

/// Windows of a fixed length that slide with the records (KIP-450): a record at `t` makes
/// the window `[t − difference, t]`, and `[t + 1, t + 1 + difference]` once a later record
/// falls in it; windows are inclusive at both ends.
public struct SlidingWindows: Sendable, Hashable {
    /// The largest time difference between two records of one window, in milliseconds.
    public let difference: Int64
    public let grace: Int64

    public static func sliding(difference: Duration, grace: Duration) -> SlidingWindows {
        SlidingWindows(difference: difference.wholeMilliseconds, grace: grace.wholeMilliseconds)
    }

    /// The shortest retention that keeps a window until it closes: `2·difference + grace`.
    public var minimumRetention: Int64 { 2 * difference + grace }

    public var problem: String? {
        if difference <= 0 { return "the time difference must be positive, got \(difference) ms" }
        if grace < 0 { return "grace must be zero or more, got \(grace) ms" }
        return nil
    }
}

/// Sessions of activity: a record at `t` makes the session `[t, t]`, merged with every
/// session of its key that ends within `gap` before it or starts within `gap` after it.
public struct SessionWindows: Sendable, Hashable {
    /// The inactivity that ends a session, in milliseconds.
    public let gap: Int64
    public let grace: Int64

    public static func session(gap: Duration, grace: Duration) -> SessionWindows {
        SessionWindows(gap: gap.wholeMilliseconds, grace: grace.wholeMilliseconds)
    }

    /// The shortest retention that keeps a session until it closes: `gap + grace`.
    public var minimumRetention: Int64 { gap + grace }

    public var problem: String? {
        if gap <= 0 { return "the inactivity gap must be positive, got \(gap) ms" }
        if grace < 0 { return "grace must be zero or more, got \(grace) ms" }
        return nil
    }
}
