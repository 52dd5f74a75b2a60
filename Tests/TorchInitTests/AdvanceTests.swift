import XCTest
import Tensors
@testable import TorchRandom
@testable import TorchInit

/// `advance` must leave the generator exactly where `apply` does (draw position, state words, spare).
final class AdvanceTests: XCTestCase {
    func same(_ a: CPUGenerator, _ b: CPUGenerator, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.spare?.bitPattern, b.spare?.bitPattern, "spare \(label)", file: file, line: line)
        var x = a, y = b
        for k in 0..<8 { XCTAssertEqual(x.random(), y.random(), "draw \(k) \(label)", file: file, line: line) }
        XCTAssertEqual(x.engine.stateWords, y.engine.stateWords, "words \(label)", file: file, line: line)
    }

    func testAdvanceMatchesApply() {
        let fills: [TensorFill] = [
            .constant(0.5), .uniform(from: -0.3, to: 0.3), .normal(mean: 0.1, std: 2),
            .mmengineTruncNormal(mean: 0, std: 0.02, a: -0.04, b: 0.04), .orthogonal(gain: 1.3),
        ]
        let shapes: [[Int]] = [[1, 1], [1, 3], [3, 1], [2, 3], [3, 5], [1, 15], [4, 4], [17, 1], [2, 9], [5, 7], [3, 2, 5], [40, 25], [7, 100]]
        for fill in fills {
            for shape in shapes {
                let n = numel(shape)
                for startSpare in [nil, 0.75] as [Double?] {
                    for pre in [0, 600, 623] {
                        var base = CPUGenerator(seed: 1234)
                        base.skip(pre)
                        base.spare = startSpare
                        // float32 storage
                        var a = base, b = base
                        var out = [Float](repeating: 0, count: n)
                        out.withUnsafeMutableBufferPointer { fill.apply(to: $0, shape: shape, generator: &a) }
                        fill.advance(count: n, dtype: .float32, shape: shape, generator: &b)
                        same(a, b, "\(fill) \(shape) f32 spare=\(String(describing: startSpare)) pre=\(pre)")
                        // bfloat16/float16 tensors are filled in float: the same draws, except normal_'s tail
                        // (ReducedPrecisionNormal: numel ≥ 16 with numel % 16 ≠ 0, measured on torch 2.15)
                        var c = base, c0 = base
                        if case .orthogonal = fill { c0 = a } else {
                            var h = [Float](repeating: 0, count: n)
                            h.withUnsafeMutableBufferPointer { fill.apply(to: $0, dtype: .bfloat16, generator: &c0) }
                        }
                        fill.advance(count: n, dtype: .bfloat16, shape: shape, generator: &c)
                        same(c0, c, "\(fill) \(shape) bf16")
                        // float64 storage
                        var d = base, e = base
                        var dout = [Double](repeating: 0, count: n)
                        dout.withUnsafeMutableBufferPointer { fill.apply(to: $0, shape: shape, generator: &d) }
                        fill.advance(count: n, dtype: .float64, shape: shape, generator: &e)
                        same(d, e, "\(fill) \(shape) f64 spare=\(String(describing: startSpare)) pre=\(pre)")
                    }
                }
            }
        }
    }

    func testEmptyDrawsNothing() {
        var g = CPUGenerator(seed: 9)
        let before = g
        var empty = [Float]()
        empty.withUnsafeMutableBufferPointer { p in
            TensorFill.uniform(from: 0, to: 1).apply(to: p, shape: [0, 4], generator: &g)
            TensorFill.normal(mean: 0, std: 1).apply(to: p, shape: [3, 0], generator: &g)
        }
        TensorFill.normal(mean: 0, std: 1).advance(count: 0, dtype: .float32, shape: [0], generator: &g)
        same(g, before, "empty")
        XCTAssertFalse(TensorFill.constant(1).isRandom)
        XCTAssertTrue(TensorFill.orthogonal(gain: 1).isRandom)
    }

    /// The vectorizable lane kernel equals the literal scalar transcription of the AVX2 recipe on many uniforms
    /// (including the extreme draws 0 and 1 − 2⁻²⁴).
    func testLaneKernelEqualsScalarRecipe() {
        var g = CPUGenerator(seed: 77)
        var a = [Float](repeating: 0, count: 16 * 4096)
        for i in 0..<a.count { a[i] = Float(g.random() & 0xFF_FFFF) * 0x1p-24 }
        a[0] = 0; a[1] = 1 - 0x1p-24; a[8] = 0; a[9] = 1 - 0x1p-24; a[10] = 0.25; a[11] = 0.5; a[12] = 0.75
        var b = a
        a.withUnsafeMutableBufferPointer { p in
            for k in stride(from: 0, to: p.count, by: 16) { AVX2Math.normalFill16(p.baseAddress! + k, mean: 0.25, std: 1.5) }
        }
        b.withUnsafeMutableBufferPointer { p in
            for k in stride(from: 0, to: p.count, by: 16) { AVX2Math.normalFill16Lanes(p.baseAddress! + k, mean: 0.25, std: 1.5) }
        }
        XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern))
    }
}
