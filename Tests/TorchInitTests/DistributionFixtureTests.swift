import XCTest
import Tensors
@testable import TorchRandom
@testable import TorchInit

/// Real torch vectors: uniform_/normal_ (both dtypes, both normal paths, spare carried across calls,
/// tail recompute), followed by the exact generator state torch reports (left/next/state words/spare).
final class DistributionFixtureTests: XCTestCase {
    let ref = TorchRef.shared

    func checkState(_ g: CPUGenerator, _ st: [String: Any], _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        let left = st.int("left")
        XCTAssertEqual(625 - (624 - g.engine.remainingInBlock), left, "left: \(name)", file: file, line: line)
        if left != 1 { XCTAssertEqual(624 - g.engine.remainingInBlock, st.int("next"), "next: \(name)", file: file, line: line) }
        XCTAssertEqual(g.engine.stateWords, ref.u32(st["words"]), "state words: \(name)", file: file, line: line)
        if let s = st["spare"] as? String {
            XCTAssertEqual(g.spare?.bitPattern, hexDouble(s).bitPattern, "spare: \(name)", file: file, line: line)
        } else {
            XCTAssertNil(g.spare, "spare: \(name)", file: file, line: line)
        }
    }

    func testScenarios() {
        var total = 0
        for sc in ref.array("scenarios") {
            let name = sc.str("name")
            var g = CPUGenerator(seed: sc.seed("seed"))
            var shadow = g   // advanced with `advance` instead of computing
            for op in sc["ops"] as! [[String: Any]] {
                let kind = op.str("kind"), dt = op.str("dtype"), n = op.int("n"), p = op.doubles("p")
                let fill: TensorFill = kind == "uniform" ? .uniform(from: p[0], to: p[1]) : .normal(mean: p[0], std: p[1])
                if dt == "f32" {
                    var out = [Float](repeating: .nan, count: n)
                    out.withUnsafeMutableBufferPointer { fill.apply(to: $0, shape: [n], generator: &g) }
                    let want = ref.u32(op["out"])
                    let got = out.map(\.bitPattern)
                    if got != want {
                        let bad = zip(got, want).enumerated().filter { $0.element.0 != $0.element.1 }
                        XCTFail("\(name) \(kind) f32 n=\(n): \(bad.count) mismatches, first at \(bad.first!.offset)")
                    }
                    fill.advance(count: n, dtype: .float32, shape: [n], generator: &shadow)
                } else {
                    var out = [Double](repeating: .nan, count: n)
                    out.withUnsafeMutableBufferPointer { fill.apply(to: $0, shape: [n], generator: &g) }
                    let want = ref.u64(op["out"])
                    let got = out.map(\.bitPattern)
                    if got != want {
                        let bad = zip(got, want).enumerated().filter { $0.element.0 != $0.element.1 }
                        XCTFail("\(name) \(kind) f64 n=\(n): \(bad.count) mismatches, first at \(bad.first!.offset)")
                    }
                    fill.advance(count: n, dtype: .float64, shape: [n], generator: &shadow)
                }
                total += n
                XCTAssertEqual(shadow.engine.stateWords, g.engine.stateWords, "advance words \(name)")
                XCTAssertEqual(shadow.engine.remainingInBlock, g.engine.remainingInBlock, "advance index \(name)")
                XCTAssertEqual(shadow.spare?.bitPattern, g.spare?.bitPattern, "advance spare \(name)")
            }
            checkState(g, sc.dict("state"), name)
            checkState(shadow, sc.dict("state"), name + " (advance)")
        }
        XCTAssertGreaterThan(total, 100_000)
    }
}
