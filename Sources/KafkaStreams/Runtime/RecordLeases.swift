/// The leases of queued records that were processed or dropped, waiting to be released
/// to the consumer (in one call per poll).
final class RecordLeases {
    /// Appended per queued record on the stream thread only: no dynamic exclusivity check.
    @exclusivity(unchecked) private(set) var leases: [UInt] = []

    func append(_ lease: UInt) { leases.append(lease) }
    func append(contentsOf more: [UInt]) { leases.append(contentsOf: more) }

    /// The leases collected so far; the bin is empty afterwards.
    func take() -> [UInt] {
        var taken: [UInt] = []
        swap(&taken, &leases)
        return taken
    }
}
