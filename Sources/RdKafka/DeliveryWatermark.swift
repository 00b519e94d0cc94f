import Synchronization

/// What the broker acknowledged of records sent to one partition with
/// ``Producer/produce(topic:partition:key:value:headers:timestamp:acknowledging:)``: the
/// highest offset, and the first failure. A store's changelog needs no more than this,
/// and its records then cost no callback, box or topic-name string each: their delivery
/// reports update it in place on the producer's polling thread.
public final class DeliveryWatermark: Sendable {
    private let highest = Atomic<Int64>(-1)
    private let firstFailure = Mutex<KafkaError?>(nil)

    public init() {}

    /// The highest acknowledged offset, or -1.
    public var highestOffset: Int64 { highest.load(ordering: .acquiring) }

    /// The first failed delivery, if any.
    public var failure: KafkaError? { firstFailure.withLock { $0 } }

    /// Records an acknowledged offset (the delivery reports do; so does a simulated client).
    package func acknowledged(_ offset: Int64) {
        highest.max(offset, ordering: .acquiringAndReleasing)
    }

    /// Records a failed delivery; the first is kept.
    package func failed(_ error: KafkaError) {
        firstFailure.withLock { if $0 == nil { $0 = error } }
    }
}

/// A record's message opaque names either a ``DeliveryCallbackBox`` or, with its lowest
/// bit set (objects are aligned, so the bit is free), a ``DeliveryWatermark``.
enum DeliveryOpaque {
    static func watermark(_ watermark: DeliveryWatermark) -> UnsafeMutableRawPointer {
        Unmanaged.passRetained(watermark).toOpaque() + 1
    }

    /// Takes back the receiver a delivery report's opaque holds (its retain included).
    static func take(_ opaque: UnsafeMutableRawPointer) -> (box: DeliveryCallbackBox?, watermark: DeliveryWatermark?) {
        if Int(bitPattern: opaque) & 1 == 1 {
            return (nil, Unmanaged<DeliveryWatermark>.fromOpaque(opaque - 1).takeRetainedValue())
        }
        return (Unmanaged<DeliveryCallbackBox>.fromOpaque(opaque).takeRetainedValue(), nil)
    }
}
