// Streams the package's float32 erfinv for a range of float bit patterns to stdout (raw little-endian float32).
//   erfinvdump raw START END        ErfinvFloat without the MKL exception tables (correctly rounded)
//   erfinvdump PATH START END       ErfinvFloat as the TruncNormal kernel runs it for MKL's code path PATH
//                                   (sse4_2, avx2, avx512: with that path's ErfinvMKL corrections)
// START, END: hex uint32 bit patterns, END exclusive. Built by make_table.py (swiftc -O -target-cpu haswell).
#if canImport(Glibc)
import Glibc
#endif

func writeAll(_ p: UnsafeRawPointer, _ n: Int) {
    var off = 0
    while off < n { let w = write(1, p + off, n - off); precondition(w > 0); off += w }
}
let args = CommandLine.arguments
let mkl: ErfinvMKL.Path? = args[1] == "raw" ? nil : ErfinvMKL.Path(rawValue: args[1])!
let start = UInt64(args[2], radix: 16)!, end = UInt64(args[3], radix: 16)!
let block = 1 << 16
var buf = [Float](repeating: 0, count: block)
var b = start
while b < end {
    let n = Int(min(UInt64(block), end - b))
    buf.withUnsafeMutableBufferPointer { p in
        var i = 0
        while i < n {
            var v = SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
            v &+= UInt32(truncatingIfNeeded: b + UInt64(i))
            let r = ErfinvFloat.lanes(unsafeBitCast(v, to: SIMD16<Float>.self), mkl: mkl)
            for k in 0..<min(16, n - i) { p[i + k] = r[k] }
            i += 16
        }
    }
    buf.withUnsafeBytes { writeAll($0.baseAddress!, 4 * n) }
    b += UInt64(n)
}
