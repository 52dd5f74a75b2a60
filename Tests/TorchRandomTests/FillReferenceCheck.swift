import TorchRandom
import XCTest

/// `n` floats from `seed` after `pre` draws, through the fast kernels (`Distributions.normal` and `.uniform`, split
/// across threads as `ParallelFill` is set) and through their scalar references: the same bits and the same end state.
func assertFillsMatchReferences(seed: UInt64, pre: Int, n: Int, normal: (mean: Double, std: Double),
                                uniform: (from: Double, to: Double), _ what: String,
                                file: StaticString = #filePath, line: UInt = #line) {
    for kind in 0..<2 {
        var g = CPUGenerator(seed: seed)
        g.skip(pre)
        var h = g
        var x = [Float](repeating: 0, count: n), y = x
        if kind == 0 {
            x.withUnsafeMutableBufferPointer { Distributions.normal($0, mean: normal.mean, std: normal.std, &g) }
            y.withUnsafeMutableBufferPointer { Distributions.normalReference($0, mean: normal.mean, std: normal.std, &h) }
        } else {
            x.withUnsafeMutableBufferPointer { Distributions.uniform($0, from: uniform.from, to: uniform.to, &g) }
            y.withUnsafeMutableBufferPointer { Distributions.uniformReference($0, from: uniform.from, to: uniform.to, &h) }
        }
        let label = "\(kind == 0 ? "normal" : "uniform") \(what) pre=\(pre) n=\(n)"
        XCTAssertEqual(x.map(\.bitPattern), y.map(\.bitPattern), label, file: file, line: line)
        XCTAssertEqual(g.engine.stateWords, h.engine.stateWords, label, file: file, line: line)
        XCTAssertEqual(g.engine.remainingInBlock, h.engine.remainingInBlock, label, file: file, line: line)
    }
}
