import XCTest
import Tensors
@testable import TorchRandom
@testable import TorchInit

/// `FillCursor` chunk by chunk must give the bits of one `apply` on the whole tensor and leave the generator where it does.
final class FillCursorTests: XCTestCase {
    func testChunksMatchWholeApply() {
        let fills: [TensorFill] = [
            .constant(0.5), .uniform(from: -0.3, to: 0.3), .normal(mean: 0.1, std: 2),
            .mmengineTruncNormal(mean: 0, std: 0.02, a: -0.04, b: 0.04), .orthogonal(gain: 1.3),
        ]
        let shapes: [[Int]] = [[1], [7], [15], [16], [17], [31], [32], [33], [47], [48], [63], [64], [65], [3, 37], [10, 100], [1009]]
        for fill in fills {
            for shape in shapes {
                if case .orthogonal = fill, shape.count < 2 { continue }
                let n = numel(shape)
                for limit in [1, 5, 16, 17, 31, 32, 48, 50, 80, 1000] {
                    for spare in [nil, 0.75] as [Double?] {
                        var base = CPUGenerator(seed: 77)
                        base.skip(611)
                        base.spare = spare
                        let label = "\(fill) \(shape) limit \(limit) spare \(String(describing: spare))"
                        // float32
                        var g = base
                        var want = [Float](repeating: .nan, count: n)
                        want.withUnsafeMutableBufferPointer { fill.apply(to: $0, shape: shape, generator: &g) }
                        var cursor = FillCursor(fill: fill, shape: shape, generator: base)
                        var got = [Float](repeating: .nan, count: n)
                        while !cursor.isFinished {
                            let c = cursor.nextCount(limit: limit)
                            XCTAssertLessThanOrEqual(c, max(limit, 31, fill.isWhole(n) ? n : 0), label)
                            let at = cursor.position
                            got.withUnsafeMutableBufferPointer { cursor.next(into: $0.extracting(at..<(at + c))) }
                        }
                        XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern), "float " + label)
                        same(cursor.generator, g, label)
                        // float64
                        var gd = base
                        var wantD = [Double](repeating: .nan, count: n)
                        wantD.withUnsafeMutableBufferPointer { fill.apply(to: $0, shape: shape, generator: &gd) }
                        var cursorD = FillCursor(fill: fill, shape: shape, generator: base)
                        var gotD = [Double](repeating: .nan, count: n)
                        while !cursorD.isFinished {
                            let c = cursorD.nextCount(limit: limit)
                            let at = cursorD.position
                            gotD.withUnsafeMutableBufferPointer { cursorD.next(into: $0.extracting(at..<(at + c))) }
                        }
                        XCTAssertEqual(gotD.map(\.bitPattern), wantD.map(\.bitPattern), "double " + label)
                        same(cursorD.generator, gd, label)
                    }
                }
            }
        }
    }

    func same(_ a: CPUGenerator, _ b: CPUGenerator, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.spare?.bitPattern, b.spare?.bitPattern, "spare \(label)", file: file, line: line)
        var x = a, y = b
        XCTAssertEqual(x.random(), y.random(), "draw \(label)", file: file, line: line)
        XCTAssertEqual(x.engine.stateWords, y.engine.stateWords, "words \(label)", file: file, line: line)
    }
}

private extension TensorFill {
    func isWhole(_ n: Int) -> Bool {
        switch self {
        case .orthogonal: true
        case .normal: n < 16
        default: false
        }
    }
}
