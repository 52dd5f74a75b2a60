// Kernel throughput: M elements/s of the float32 normal_/uniform_ kernels (and the raw mt19937 stream),
// one core, same seed and size as the torch side of bench/kernels.py.
//   kernelbench [N] [REPEAT]   → one JSON line per kernel (best and median seconds over REPEAT runs)
import Foundation
import TorchInit
import TorchRandom

let args = CommandLine.arguments
let n = args.count > 1 ? Int(args[1])! : 1 << 24
let repeats = args.count > 2 ? Int(args[2])! : 7
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
    print("{\"kernel\": \"\(name)\", \"n\": \(n), \"best_s\": \(ts[0]), \"median_s\": \(med), \"melem_per_s\": \(Double(n) / med / 1e6)}")
}

var g = CPUGenerator(seed: 0)
time("normal_") { Distributions.normal(buf, mean: 0, std: 1, &g) }
time("uniform_") { Distributions.uniform(buf, from: -1, to: 1, &g) }
time("mt19937_skip") { g.engine.skipSequential(n) }
var checksum: Float = 0
for i in stride(from: 0, to: n, by: 4099) { checksum += buf[i] }
FileHandle.standardError.write(Data("checksum \(checksum)\n".utf8))
