extension String {
    /// Reads a NUL-terminated string out of a fixed C buffer (the `[CChar]` initializer
    /// is deprecated in Swift 6.3).
    init(cStringBuffer buffer: [CChar]) {
        self = buffer.withUnsafeBufferPointer { pointer in
            guard let base = pointer.baseAddress else { return "" }
            return String(cString: base)
        }
    }
}
