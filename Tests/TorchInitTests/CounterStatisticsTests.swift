#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tensors
import TorchInit
import TorchRandom
import XCTest

/// `"rng": "counter"` sample quality on 10⁶ values per distribution: mean and variance z-tests and the
/// Kolmogorov–Smirnov statistic against the target CDF, at α = 0.001 (two-sided z 3.29; KS critical value
/// 1.95/√n). A negative control checks that the KS test rejects a wrong target.
final class CounterStatisticsTests: XCTestCase {
    static let n = 1_000_000
    static let zCrit = 3.29
    static var ksCrit: Double { 1.95 / Double(n).squareRoot() }

    func ks(_ xs: [Double], _ cdf: (Double) -> Double) -> Double {
        let s = xs.sorted()
        let n = Double(s.count)
        var d = 0.0
        for (i, x) in s.enumerated() {
            let f = cdf(x)
            d = max(d, Double(i + 1) / n - f, f - Double(i) / n)
        }
        return d
    }

    func checkMoments(_ xs: [Double], mean: Double, variance: Double, fourth: Double, _ label: String) {
        let n = Double(xs.count)
        let m = xs.reduce(0, +) / n
        let v = xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1)
        XCTAssertLessThan(abs(m - mean) / (variance / n).squareRoot(), Self.zCrit, "\(label) mean \(m)")
        // Var(s²) ≈ (μ4 − σ⁴)/n
        XCTAssertLessThan(abs(v - variance) / ((fourth - variance * variance) / n).squareRoot(), Self.zCrit, "\(label) variance \(v)")
    }

    func sample(_ fill: TensorFill, seed: Int64 = 0, name: String = "w", double: Bool = false) -> [Double] {
        let key = CounterKey(seed: seed, name: name)
        if double {
            var a = [Double](repeating: 0, count: Self.n)
            a.withUnsafeMutableBufferPointer { CounterFill.fill(fill, key: key, ordinal: 0, start: 0, shape: [Self.n], into: $0) }
            return a
        }
        var a = [Float](repeating: 0, count: Self.n)
        a.withUnsafeMutableBufferPointer { CounterFill.fill(fill, key: key, ordinal: 0, start: 0, shape: [Self.n], into: $0) }
        return a.map(Double.init)
    }

    static func phi(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

    func testUniform() {
        for double in [false, true] {
            let xs = sample(.uniform(from: 0, to: 1), double: double)
            XCTAssert(xs.allSatisfy { $0 >= 0 && $0 < 1 })
            checkMoments(xs, mean: 0.5, variance: 1.0 / 12, fourth: 1.0 / 80, "uniform double=\(double)")
            let d = ks(xs) { min(max($0, 0), 1) }
            XCTAssertLessThan(d, Self.ksCrit, "uniform KS double=\(double)")
        }
        let ab = sample(.uniform(from: -3, to: 5), seed: 9, name: "other")
        XCTAssertLessThan(ks(ab) { min(max(($0 + 3) / 8, 0), 1) }, Self.ksCrit)
    }

    func testNormal() {
        for double in [false, true] {
            let xs = sample(.normal(mean: 0, std: 1), seed: 3, double: double)
            checkMoments(xs, mean: 0, variance: 1, fourth: 3, "normal double=\(double)")
            XCTAssertLessThan(ks(xs, Self.phi), Self.ksCrit, "normal KS double=\(double)")
        }
        let scaled = sample(.normal(mean: 2, std: 0.5), seed: 4)
        XCTAssertLessThan(ks(scaled) { Self.phi(($0 - 2) / 0.5) }, Self.ksCrit)
    }

    func testMMEngineTruncNormal() {
        let (a, b) = (-2.0, 1.0)
        let xs = sample(.mmengineTruncNormal(mean: 0, std: 1, a: a, b: b), seed: 5)
        XCTAssert(xs.allSatisfy { $0 >= a && $0 <= b })
        let z = Self.phi(b) - Self.phi(a)
        XCTAssertLessThan(ks(xs) { (Self.phi(min(max($0, a), b)) - Self.phi(a)) / z }, Self.ksCrit)
    }

    func testTorchTruncNormalRejection() {
        var out = [Float](repeating: 0, count: Self.n)
        out.withUnsafeMutableBufferPointer {
            CounterFill.truncNormal($0, dtype: .float32, mean: 0, std: 1, a: -1, b: 0.5, key: CounterKey(seed: 6, name: "t"), ordinal: 0, start: 0)
        }
        let xs = out.map(Double.init)
        let z = Self.phi(0.5) - Self.phi(-1)
        XCTAssertLessThan(ks(xs) { (Self.phi(min(max($0, -1), 0.5)) - Self.phi(-1)) / z }, Self.ksCrit)
    }

    /// The tests can fail: the same statistics reject a shifted or wrong target.
    func testNegativeControls() {
        let xs = sample(.normal(mean: 0, std: 1), seed: 3)
        XCTAssertGreaterThan(ks(xs) { Self.phi($0 - 0.01) }, Self.ksCrit)  // a 0.01σ shift is detected at n = 10⁶
        let us = sample(.uniform(from: 0, to: 1))
        XCTAssertGreaterThan(ks(us) { min(max($0, 0), 1) * min(max($0, 0), 1) }, Self.ksCrit)
        // Neighbouring elements and streams are not correlated.
        let other = sample(.normal(mean: 0, std: 1), seed: 3, name: "w2")
        let r = zip(xs, other).reduce(0) { $0 + $1.0 * $1.1 } / Double(Self.n)
        XCTAssertLessThan(abs(r) * Double(Self.n).squareRoot(), Self.zCrit)
        let lag = zip(xs, xs.dropFirst()).reduce(0) { $0 + $1.0 * $1.1 } / Double(Self.n - 1)
        XCTAssertLessThan(abs(lag) * Double(Self.n).squareRoot(), Self.zCrit)
    }

    /// Any range is the same as the corresponding part of the whole.
    func testRangesAreIndependent() {
        let key = CounterKey(seed: 11, name: "x")
        for fill in [TensorFill.uniform(from: -1, to: 1), .normal(mean: 0, std: 0.02), .mmengineTruncNormal(mean: 0, std: 1, a: -2, b: 2)] {
            var whole = [Float](repeating: 0, count: 1000)
            whole.withUnsafeMutableBufferPointer { CounterFill.fill(fill, key: key, ordinal: 2, start: 0, shape: [1000], into: $0) }
            var part = [Float](repeating: 0, count: 137)
            part.withUnsafeMutableBufferPointer { CounterFill.fill(fill, key: key, ordinal: 2, start: 421, shape: [1000], into: $0) }
            XCTAssertEqual(part, Array(whole[421..<558]))
        }
    }
}
