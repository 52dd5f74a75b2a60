// Dense comparison of the fast float32 erfinv against the accurate reference Float(erfinv(Double(y))), plus throughput.
// Build and run (from the repo root; ~1–3 min on 2 cores):
//   mkdir -p /tmp/sweep && cp bench/erfinv_sweep.swift /tmp/sweep/main.swift && \
//   swiftc -O -target-cpu haswell Sources/TorchRandom/*.swift /tmp/sweep/main.swift -o /tmp/sweep/erfinv_sweep && \
//   /tmp/sweep/erfinv_sweep [STRIDE]        # STRIDE 0: throughput only
// Sweeps (1) every input uniform_(-1, 1) can produce (−1 + k·2⁻²³, k < 2²⁴), exhaustively; (2) every STRIDE-th float
// in (−1, 1) by bit pattern (default 7: ~300M floats), both signs. "kernel" is ErfinvFloat.lanes(mkl: false), the
// correctly rounded float erfinv (expected: 0 differences); "with MKL table" is the shipped transform, which
// deliberately differs by 1 ulp where torch's MKL result is not correctly rounded (ErfinvMKL).
#if canImport(Glibc)
import Glibc
#endif
import Dispatch

func ulps(_ a: Float, _ b: Float) -> Int {
    func key(_ x: Float) -> Int { let i = Int(Int32(bitPattern: x.bitPattern)); return i < 0 ? -(i & 0x7FFF_FFFF) : i }
    return abs(key(a) - key(b))
}

struct Tally { var n = 0, diff = 0, maxUlp = 0, mklDiff = 0, examples: [(Float, Float, Float)] = [] }

func check(_ ys: UnsafeMutableBufferPointer<Float>, _ t: inout Tally) {
    let n = ys.count
    let out = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
    defer { out.deallocate() }
    _ = out.initialize(from: ys)
    ErfinvFloat.truncNormalTransform(out.baseAddress!, count: n, scale: 1, mean: 0, lo: -.infinity, hi: .infinity)
    var i = 0
    while i < n {
        var v = SIMD16<Float>(repeating: 0)
        let m = min(16, n - i)
        for k in 0..<m { v[k] = ys[i + k] }
        let kernel = ErfinvFloat.lanes(v, mkl: false)
        for k in 0..<m {
            let y = ys[i + k]
            let r = Float(erfinv(Double(y)))
            let d = ulps(kernel[k], r)
            t.n += 1
            if d != 0 || kernel[k].isNaN != r.isNaN {
                t.diff += 1
                t.maxUlp = max(t.maxUlp, d)
                if t.examples.count < 8 { t.examples.append((y, kernel[k], r)) }
            }
            if out[i + k].bitPattern != r.bitPattern && !(out[i + k].isNaN && r.isNaN) { t.mklDiff += 1 }
        }
        i += 16
    }
}

let sweepStride = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1])! : 7
let benchOnly = sweepStride == 0
let chunk = 1 << 20
let lock = NSLockLike()
final class NSLockLike { var m = pthread_mutex_t(); init() { pthread_mutex_init(&m, nil) }
    func locked<R>(_ f: () -> R) -> R { pthread_mutex_lock(&m); defer { pthread_mutex_unlock(&m) }; return f() } }

func sweep(_ name: String, _ total: Int, _ value: @escaping @Sendable (Int) -> Float) {
    var all = Tally()
    let chunks = (total + chunk - 1) / chunk
    nonisolated(unsafe) var parts = [Tally](repeating: Tally(), count: chunks)
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
        let lo = c * chunk, hi = min(total, lo + chunk)
        let buf = UnsafeMutableBufferPointer<Float>.allocate(capacity: hi - lo)
        defer { buf.deallocate() }
        for i in lo..<hi { buf[i - lo] = value(i) }
        var t = Tally()
        check(buf, &t)
        lock.locked { parts[c] = t }
    }
    for t in parts { all.n += t.n; all.diff += t.diff; all.mklDiff += t.mklDiff; all.maxUlp = max(all.maxUlp, t.maxUlp); all.examples += t.examples }
    print("\(name): \(all.n) inputs; kernel: \(all.diff) differ (\(Double(all.diff) / Double(all.n) * 100)%), max \(all.maxUlp) ulp; with MKL table: \(all.mklDiff) differ (\(Double(all.mklDiff) / Double(all.n) * 100)%)")
    for e in all.examples.prefix(8) { print("   y=\(e.0) (\(String(e.0.bitPattern, radix: 16))) fast=\(e.1) ref=\(e.2)") }
}

if !benchOnly {
// (1) uniform_(-1, 1): fma(k·2⁻²⁴, 2, −1) = −1 + k·2⁻²³ exactly
sweep("uniform(-1,1) grid", 1 << 24) { k in Float(k) * 0x1p-23 - 1 }
// (2) every stride-th float in (−1, 1), both signs: bit patterns 0 ..< 0x3F80_0000
let positives = 0x3F80_0000 / sweepStride
sweep("floats in (-1,1), stride \(sweepStride)", 2 * positives) { i in
    let b = UInt32((i >> 1) * sweepStride)
    return (i & 1) == 0 ? Float(bitPattern: b) : -Float(bitPattern: b)
}
// specials
for y: Float in [0, -0.0, 1, -1, 1.5, -2, .nan, .infinity, 1 - 0x1p-24, -1 + 0x1p-24, 0x1p-149] {
    print("special", y, ErfinvFloat.erfinv(y), Float(erfinv(Double(y))))
}
}
// throughput
let n = 1 << 24
let buf = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
for i in 0..<n { buf[i] = Float(i) * 0x1p-23 - 1 }
var best = UInt64.max
for _ in 0..<7 {
    for i in 0..<n { buf[i] = Float(i) * 0x1p-23 - 1 }
    let t0 = DispatchTime.now().uptimeNanoseconds
    ErfinvFloat.truncNormalTransform(buf.baseAddress!, count: n, scale: 0.028, mean: 0, lo: -2, hi: 2)
    best = min(best, DispatchTime.now().uptimeNanoseconds - t0)
}
print("fast: \(Double(n) / Double(best) * 1e3) M/s (best of 7)")
for i in 0..<n { buf[i] = Float(i) * 0x1p-23 - 1 }
let t0 = DispatchTime.now().uptimeNanoseconds
var s: Float = 0
for i in stride(from: 0, to: n, by: 16) { s += Float(erfinv(Double(buf[i]))) }
let t1 = DispatchTime.now().uptimeNanoseconds
print("reference: \(Double(n / 16) / Double(t1 - t0) * 1e3) M/s (\(s))")
