import RdKafka

/// What the producer acknowledged of one store's changelog partition: the highest offset,
/// and the first failure, updated by delivery reports on the producer's polling thread and
/// read by the stream thread after a flush.
@usableFromInline
typealias ChangelogTracker = DeliveryWatermark
