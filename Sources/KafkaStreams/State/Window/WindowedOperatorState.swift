/// What a windowed operator had seen and emitted when it last wrote its state, kept in its
/// store beside its windows so a restart resumes exactly where the state is.
@usableFromInline
struct WindowedOperatorState: Equatable {
    /// The largest record time the operator has seen (-1: none).
    @usableFromInline var observedStreamTime: Int64
    /// The last window emitted as final: its start (time windows) or end (sessions); -1: none.
    @usableFromInline var lastEmitted: Int64

    @usableFromInline
    init(observedStreamTime: Int64 = -1, lastEmitted: Int64 = -1) {
        self.observedStreamTime = observedStreamTime
        self.lastEmitted = lastEmitted
    }

    init(decoding bytes: [UInt8]?) {
        guard let bytes, bytes.count == 16 else {
            self.init()
            return
        }
        self = bytes.withUnsafeBytes { Self(observedStreamTime: readBigEndian($0, at: 0), lastEmitted: readBigEndian($0, at: 8)) }
    }

    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        appendBigEndian(observedStreamTime, to: &bytes)
        appendBigEndian(lastEmitted, to: &bytes)
        return bytes
    }
}
