import XCTest
@testable import TorchRandom

/// The fast float32 erfinv (ErfinvFloat) before the MKL correction (`mkl: nil`, `correctlyRounded`) against the
/// accurate reference `Float(erfinv(Double(y)))` (Erfinv.swift: Giles guess + Halley steps on erf/erfc, ≈1 ulp in
/// double, i.e. correctly rounded floats). The corrected kernel against torch: TorchInitTests/ErfinvMKLTests.
/// The full sweep — all 2²⁴ inputs of uniform_(-1, 1) and every 7th float of (−1, 1), 0 differences — is
/// bench/erfinv_sweep.swift (release build); here a subset that runs in a debug build.
final class ErfinvFloatTests: XCTestCase {
    private func reference(_ y: Float) -> Float { Float(erfinv(Double(y))) }

    /// The uncorrected 16-lane kernel.
    private func fast(_ ys: [Float]) -> [Float] {
        var out: [Float] = []
        var i = 0
        while i < ys.count {
            var v = SIMD16<Float>(repeating: 0)
            for k in 0..<min(16, ys.count - i) { v[k] = ys[i + k] }
            let r = ErfinvFloat.lanes(v, mkl: nil)
            for k in 0..<min(16, ys.count - i) { out.append(r[k]) }
            i += 16
        }
        return out
    }

    func testSpecialValues() {
        XCTAssertEqual(ErfinvFloat.correctlyRounded(0).bitPattern, Float(0).bitPattern)
        XCTAssertEqual(ErfinvFloat.erfinv(0).bitPattern, Float(0).bitPattern)
        XCTAssertEqual(ErfinvFloat.erfinv(-0.0).bitPattern, Float(-0.0).bitPattern)
        XCTAssertEqual(ErfinvFloat.erfinv(1), .infinity)
        XCTAssertEqual(ErfinvFloat.erfinv(-1), -.infinity)
        for y: Float in [1.5, -1.5, .infinity, -.infinity, .nan, 1 + 0x1p-23] { XCTAssertTrue(ErfinvFloat.erfinv(y).isNaN, "\(y)") }
        for y: Float in [0x1p-149, -0x1p-149, 0x1p-126, 1e-30, 0.5, -0.5, 1 - 0x1p-24, -1 + 0x1p-24, 1 - 0x1p-23, 0.999, 0.99903] {
            XCTAssertEqual(ErfinvFloat.correctlyRounded(y).bitPattern, reference(y).bitPattern, "erfinv(\(y))")
        }
    }

    /// uniform_(-1, 1) yields −1 + k·2⁻²³ (k < 2²⁴): every 509th k, plus the 8192 nearest −1 and +1 (the tail branches).
    func testUniformGridMatchesReference() {
        var ks = Array(stride(from: 0, to: 1 << 24, by: 509))
        ks += Array(0..<4096) + Array(((1 << 24) - 4096)..<(1 << 24))
        let ys = ks.map { Float($0) * 0x1p-23 - 1 }
        let got = fast(ys)
        var differ = 0
        for (y, g) in zip(ys, got) where g.bitPattern != reference(y).bitPattern {
            differ += 1
            if differ < 5 { XCTFail("erfinv(\(y)) = \(g), reference \(reference(y))") }
        }
        XCTAssertEqual(differ, 0)
    }

    /// Pseudo-random floats of every binade in (−1, 1), both signs: at most 1 ulp, and identical in ≥ 99.99 %.
    func testArbitraryFloats() {
        var s: UInt64 = 0x9E37_79B9_7F4A_7C15
        var ys: [Float] = []
        for _ in 0..<100_000 {
            s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let bits = UInt32(truncatingIfNeeded: s >> 33) % 0x3F80_0000
            ys.append((s >> 32) & 1 == 0 ? Float(bitPattern: bits) : -Float(bitPattern: bits))
        }
        let got = fast(ys)
        var differ = 0
        for (y, g) in zip(ys, got) {
            let r = reference(y)
            if g.bitPattern == r.bitPattern { continue }
            differ += 1
            XCTAssertEqual(g.bitPattern.distance(to: r.bitPattern).magnitude, 1, "erfinv(\(y)) = \(g), reference \(r)")
        }
        XCTAssertLessThanOrEqual(differ, 10)
    }

    /// The whole transform (erfinv, ·scale, +mean, clamp with NaN propagating), any length (8/16-lane body + tail),
    /// equals the scalar float32 sequence MMEngine runs (on the MKL-corrected scalar erfinv).
    func testTransformMatchesScalarSequence() {
        let scale = Float(0.02 * 2.0.squareRoot()), mean: Float = 0.1, lo: Float = 0.09, hi: Float = 0.12
        for n in [0, 1, 7, 15, 16, 17, 33, 100] {
            var ys = (0..<n).map { Float($0) / Float(max(n, 1)) * 2 - 1 }
            if n > 3 { ys[1] = .nan; ys[2] = 1; ys[3] = -1 }
            var out = ys
            out.withUnsafeMutableBufferPointer {
                if let b = $0.baseAddress { ErfinvFloat.truncNormalTransform(b, count: n, scale: scale, mean: mean, lo: lo, hi: hi) }
            }
            for i in 0..<n {
                var v = ErfinvFloat.erfinv(ys[i])
                v = v * scale
                v = v + mean
                if !v.isNaN { v = v < lo ? lo : v; v = v > hi ? hi : v }
                XCTAssertEqual(out[i].bitPattern, v.bitPattern, "n=\(n) [\(i)] y=\(ys[i])")
            }
        }
    }
}
