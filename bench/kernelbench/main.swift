// Kernel throughput: M elements/s of the float32 normal_/uniform_ kernels (and the raw mt19937 stream),
// one core, same seed and size as the torch side of bench/kernels.py.
//   kernelbench [N] [REPEAT]   → one JSON line per kernel (best and median seconds over REPEAT runs)
import Foundation
import TorchInit
import TorchRandom
import TorchRandomAVX512

// The widest build of the loops this CPU runs, as the service picks it (or WEIGHTINIT_CPU_CAPABILITY).
let capability = try CPUCapability.select(ProcessInfo.processInfo.environment["WEIGHTINIT_CPU_CAPABILITY"])
let args = CommandLine.arguments
guard args.count <= 3, let n = args.count > 1 ? Int(args[1]) : 1 << 24,
      let repeats = args.count > 2 ? Int(args[2]) : 7, n >= 16, repeats >= 1 else {
    FileHandle.standardError.write(Data("usage: kernelbench [N ≥ 16 elements] [REPEAT ≥ 1]\n".utf8))
    exit(2)
}
let buf = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
buf.initialize(repeating: 0)
defer { buf.deallocate() }

func time(_ name: String, _ body: () -> Void) {
    var ts: [Double] = []
    for _ in 0..<repeats {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        ts.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    ts.sort()
    let med = ts[ts.count / 2]
    print("{\"kernel\": \"\(name)\", \"capability\": \"\(capability)\", \"n\": \(n), \"best_s\": \(ts[0]), \"median_s\": \(med), \"melem_per_s\": \(Double(n) / med / 1e6)}")
}

var g = CPUGenerator(seed: 0)
time("normal_") { Distributions.normalSerial(buf, mean: 0, std: 1, &g) }
time("uniform_") { Distributions.uniformSerial(buf, from: -1, to: 1, &g) }
// The parallel fill on 8 MiB chunks (the stream's chunk size), WORKERS threads (default 2).
ParallelFill.workers = Int(ProcessInfo.processInfo.environment["WORKERS"] ?? "2") ?? 2
let chunk = min(n, 1 << 21)
time("normal_parallel\(ParallelFill.workers)") {
    for at in stride(from: 0, to: n - chunk + 1, by: chunk) {
        Distributions.normal(UnsafeMutableBufferPointer(rebasing: buf[at..<(at + chunk)]), mean: 0, std: 1, &g)
    }
}
time("uniform_parallel\(ParallelFill.workers)") {
    for at in stride(from: 0, to: n - chunk + 1, by: chunk) {
        Distributions.uniform(UnsafeMutableBufferPointer(rebasing: buf[at..<(at + chunk)]), from: -1, to: 1, &g)
    }
}
time("mt19937_skip") { g.engine.skipSequential(n) }
var checksum: Float = 0
for i in stride(from: 0, to: n, by: 4099) { checksum += buf[i] }
FileHandle.standardError.write(Data("checksum \(checksum)\n".utf8))

// mt19937 jump-ahead: first (polynomial computed) and repeated (cached polynomial) jumps of ~2^30 draws
do {
    var e = MT19937(seed: 1)
    let t0 = DispatchTime.now().uptimeNanoseconds
    e.jump(1_000_000_007)
    let t1 = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<10 { var f = MT19937(seed: 2); f.jump(1_000_000_007); _ = f.next() }
    let t2 = DispatchTime.now().uptimeNanoseconds
    print("{\"kernel\": \"mt19937_jump\", \"first_ms\": \(Double(t1 - t0) / 1e6), \"cached_ms\": \(Double(t2 - t1) / 1e7)}")
}
do {  // uncached jumps of distinct lengths
    var e = MT19937(seed: 3)
    let t0 = DispatchTime.now().uptimeNanoseconds
    for k in 0..<20 { e.jump(10_000_000 + 7919 * k) }
    let t1 = DispatchTime.now().uptimeNanoseconds
    let polys0 = DispatchTime.now().uptimeNanoseconds
    for k in 0..<20 { _ = MT19937Jump.windows(UInt64(50_000_000 + 7919 * k)) }
    let polys1 = DispatchTime.now().uptimeNanoseconds
    print("{\"kernel\": \"mt19937_jump_uncached\", \"ms\": \(Double(t1 - t0) / 2e7), \"poly_ms\": \(Double(polys1 - polys0) / 2e7)}")
}
