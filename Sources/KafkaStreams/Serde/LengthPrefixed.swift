/// Appends what `encode` appends, preceded by its length (u32 big endian), as the serdes
/// of composite values (a table change, a join's records) frame their parts. When
/// `encode` returns false (a null), nothing is appended and false returned.
@usableFromInline
func appendLengthPrefixed(to bytes: inout [UInt8], _ encode: (inout [UInt8]) throws -> Bool) rethrows -> Bool {
    let lengthAt = bytes.count
    bytes.append(contentsOf: [0, 0, 0, 0])
    guard try encode(&bytes) else {
        bytes.removeSubrange(lengthAt...)
        return false
    }
    let length = UInt32(bytes.count - lengthAt - 4).bigEndian
    withUnsafeBytes(of: length) { bytes.replaceSubrange(lengthAt..<lengthAt + 4, with: $0) }
    return true
}

/// The u32 big-endian number at `offset`.
@usableFromInline
func readLength(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws -> Int {
    guard bytes.count - offset >= 4 else { throw SerdeError.wrongSize(expected: offset + 4, actual: bytes.count) }
    return Int(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
}

/// The bytes framed at `offset` by ``appendLengthPrefixed(to:_:)``, and the offset after them.
@usableFromInline
func readLengthPrefixed(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws -> (bytes: UnsafeRawBufferPointer, next: Int) {
    let length = try readLength(bytes, at: offset)
    let start = offset + 4
    guard bytes.count - start >= length else { throw SerdeError.wrongSize(expected: start + length, actual: bytes.count) }
    return (UnsafeRawBufferPointer(rebasing: bytes[start..<start + length]), start + length)
}
