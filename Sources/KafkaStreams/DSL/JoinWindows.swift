/// Which records of two streams a stream–stream join pairs: a left record at `t` joins each
/// right record of the same key with a time in `t − before ... t + after` (both ends
/// included), and the result carries the later of the two times.
///
/// `grace` is how long after a record's window ends (in stream time, the largest record
/// time the join has seen) a partner may still arrive. A left record (left and outer joins)
/// or right record (outer joins) without a partner is sent with `nil` for it once its
/// window has closed, never before, and never pairs afterwards: no `joiner(l, nil)`
/// followed by `joiner(l, r)`. A record arriving after its own window closed still joins
/// the partners the join keeps (each side keeps `before + after + grace` behind the latest
/// record it took), as in Kafka Streams.
///
/// ```swift
/// orders.join(payments, windows: .timeDifference(.hours(1), grace: .minutes(5))) { order, payment in ... }
/// ```
public struct JoinWindows: Sendable, Hashable {
    /// How far before a left record's time its right partners may be, in milliseconds.
    public let before: Int64
    /// How far after a left record's time its right partners may be, in milliseconds.
    public let after: Int64
    /// How long after a record's window ends a partner may still arrive, in milliseconds.
    public let grace: Int64

    /// Partners up to `before` earlier and `after` later than the left record.
    public init(before: Duration, after: Duration, grace: Duration) {
        self.before = before.wholeMilliseconds
        self.after = after.wholeMilliseconds
        self.grace = grace.wholeMilliseconds
    }

    /// Partners at most `difference` apart, either way (Kafka Streams'
    /// `JoinWindows.ofTimeDifferenceAndGrace`).
    public static func timeDifference(_ difference: Duration, grace: Duration) -> JoinWindows {
        JoinWindows(before: difference, after: difference, grace: grace)
    }

    /// What is wrong with these windows, if anything.
    @usableFromInline var problem: String? {
        if before + after < 0 { return "join windows need before + after ≥ 0, got before \(before) ms and after \(after) ms" }
        if grace < 0 { return "join windows need a grace ≥ 0, got \(grace) ms" }
        return nil
    }

    /// How long each side keeps its records, in milliseconds: any record that is not late
    /// finds every partner its window holds still stored.
    @usableFromInline var retention: Int64 { before + after + grace + 1 }
}
