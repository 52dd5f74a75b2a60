/// zlib's `crc32` (the target links libz). `uLong crc32(uLong crc, const Bytef *buf, uInt len)`.
@_silgen_name("crc32")
func zlibCRC32(_ crc: UInt, _ buf: UnsafePointer<UInt8>?, _ len: UInt32) -> UInt

/// CRC-32 (IEEE, as zip uses) continued over `data`.
func crc32(_ crc: UInt32, _ data: UnsafeRawBufferPointer) -> UInt32 {
    guard var base = data.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return crc }
    var remaining = data.count
    var c = UInt(crc)
    while remaining > 0 {
        let n = min(remaining, 1 << 30)
        c = zlibCRC32(c, base, UInt32(n))
        base += n
        remaining -= n
    }
    return UInt32(truncatingIfNeeded: c)
}

func crc32(_ bytes: [UInt8]) -> UInt32 {
    bytes.withUnsafeBytes { crc32(0, $0) }
}

extension Array where Element == UInt8 {
    mutating func appendLE16(_ v: UInt16) { append(UInt8(v & 0xff)); append(UInt8(v >> 8)) }
    mutating func appendLE32(_ v: UInt32) { for s in stride(from: 0, to: 32, by: 8) { append(UInt8(truncatingIfNeeded: v >> UInt32(s))) } }
    mutating func appendLE64(_ v: UInt64) { for s in stride(from: 0, to: 64, by: 8) { append(UInt8(truncatingIfNeeded: v >> UInt64(s))) } }
    mutating func append(_ s: String) { append(contentsOf: Array(s.utf8)) }
}
