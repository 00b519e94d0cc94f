/// A key's latest session in a session store, as its processor last made it: the next
/// record of the key finds it here rather than by a scan, and, in a cached store, its
/// change is held here above the record cache until it leaves for the cache.
///
/// A session aggregation changes its key's latest session with nearly every record: the
/// session grows, so its store key (which holds its end) changes, and through the record
/// cache each record deleted the session's old key and wrote its new one, building and
/// hashing both and copying the record's context into both entries. Held, a record updates
/// the session in place; at a commit or an eviction the session enters the cache as two
/// writes at most, at their places in the write order: the deletion of the session the
/// layers below hold, and the session as it is now. The windows in between were never
/// below the cache, so deleting them was never heard of there (see
/// ``CachingBytesStore/Entry/absentBelow``).
@usableFromInline
struct LatestSession<Value> {
    @usableFromInline var window: Window
    @usableFromInline var value: Value
    /// How the session changed since the record cache (or the store below) last had it;
    /// `nil`: they hold it as it is.
    @usableFromInline var held: HeldSessionChange?

    @inlinable
    init(window: Window, value: Value) {
        self.window = window
        self.value = value
    }

    /// Holds a record's update of the session: its new window and value, made by the
    /// record with `context`, at the places `sequence` (the deletion of the session the
    /// layers below hold, if its window changes now) and `sequence + 1` (the session's
    /// write) in the write order. Returns whether the session was not held before.
    @inlinable
    mutating func hold(window newWindow: Window, value newValue: Value, context: RecordContext, sequence: Int) -> Bool {
        let change: HeldSessionChange
        let newlyHeld: Bool
        if let held {
            change = held
            change.context = context
            change.sequence = sequence + 1
            newlyHeld = false
        } else {
            change = HeldSessionChange(context: context, sequence: sequence + 1, replaced: window)
            held = change
            newlyHeld = true
        }
        if change.deletion == nil, change.replaced != newWindow { change.deletion = (context, sequence) }
        window = newWindow
        value = newValue
        return newlyHeld
    }
}

/// A latest session's change held above the record cache (see ``LatestSession``). An
/// object, so that reading the latest session on every record copies one reference, not
/// the record contexts.
@usableFromInline
final class HeldSessionChange {
    /// The context of the latest record that changed the session (the time it leaves with
    /// is the session's end).
    @exclusivity(unchecked) @usableFromInline var context: RecordContext
    /// The session's write's place in the store's write order.
    @exclusivity(unchecked) @usableFromInline var sequence: Int
    /// The session the layers below the held change hold for the key, which it replaces.
    @usableFromInline let replaced: Window
    /// The context and the place in the write order of the deletion of `replaced`: of the
    /// first record that changed its window (`nil`: none did yet).
    @exclusivity(unchecked) @usableFromInline var deletion: (context: RecordContext, sequence: Int)?

    @inlinable
    init(context: RecordContext, sequence: Int, replaced: Window) {
        self.context = context
        self.sequence = sequence
        self.replaced = replaced
    }
}
