import XCTest
import Tensors
@testable import TorchRandom
@testable import TorchInit

final class TorchInitFixtureTests: XCTestCase {
    let ref = TorchRef.shared

    func testFans() throws {
        for f in ref.array("fans") {
            let shape = f.ints("shape")
            if let fi = f["fanIn"] as? NSNumber {
                let got = try TorchInit.fans(shape)
                XCTAssertEqual(got.fanIn, fi.intValue, "\(shape)")
                XCTAssertEqual(got.fanOut, f.int("fanOut"), "\(shape)")
            } else {
                XCTAssertThrowsError(try TorchInit.fans(shape))
            }
        }
    }

    func testGainsBitExact() throws {
        for r in ref.array("gains") {
            let p = (r["param"] as? String).map(hexDouble)
            let got = try TorchInit.calculateGain(r.str("nl"), param: p)
            XCTAssertEqual(got.bitPattern, r.hexD("gain").bitPattern, "\(r.str("nl")) \(String(describing: p))")
        }
        // python: math.sqrt(2.0 / (1 + math.sqrt(5)**2)) with a**2 = 5.000000000000001
        XCTAssertEqual(try TorchInit.calculateGain("leaky_relu", param: 5.0.squareRoot()), 0.5773502691896257)
        XCTAssertEqual(try TorchInit.calculateGain("leaky_relu", param: nil), 1.4141428569978354)
    }

    func testErrors() {
        let e = Dictionary(uniqueKeysWithValues: ref.array("errors").map { ($0.str("label"), $0) })
        func expect(_ label: String, _ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) {
            let want = e[label]!
            do {
                try body()
                XCTAssertTrue(want["type"] is NSNull, "\(label): expected \(want)", file: file, line: line)
            } catch {
                XCTAssertEqual(error as? TorchError, TorchError(want.str("type"), want.str("message")), label, file: file, line: line)
            }
        }
        expect("fans1d") { _ = try TorchInit.fans([5]) }
        expect("fans0d") { _ = try TorchInit.fans([]) }
        expect("gain_bad") { _ = try TorchInit.calculateGain("gelu", param: nil) }
        expect("mode_bad") { _ = try TorchInit.kaimingUniform(shape: [3, 4], a: 0, mode: "Fan_Avg", nonlinearity: "leaky_relu") }
        expect("kaiming_1d") { _ = try TorchInit.kaimingUniform(shape: [3], a: 0, mode: "fan_in", nonlinearity: "leaky_relu") }
        expect("kaiming_nl_bad") { _ = try TorchInit.kaimingNormal(shape: [3, 4], a: 0, mode: "fan_in", nonlinearity: "swish") }
        expect("kaiming_empty_1d") {
            let f = try TorchInit.kaimingUniform(shape: [0], a: 0, mode: "fan_in", nonlinearity: "leaky_relu")
            XCTAssertNil(f)
        }
        expect("xavier_1d") { _ = try TorchInit.xavierUniform(shape: [3], gain: 1) }
        expect("xavier_zero") { _ = try TorchInit.xavierNormal(shape: [0, 0], gain: 1) }
        expect("orth_1d") { _ = try TorchInit.orthogonal(shape: [4], gain: 1) }
        expect("mode_upper_ok") { _ = try TorchInit.kaimingUniform(shape: [3, 4], a: 0, mode: "FAN_OUT", nonlinearity: "leaky_relu") }
        XCTAssertEqual(TorchError("ValueError", "x").description, "ValueError: x")
    }

    func testInitFunctionsAgainstTorch() throws {
        for c in ref.array("init") {
            let name = c.str("name"), shape = c.ints("shape"), kind = c.str("kind")
            let args = c["args"] as! [String]
            let fill: TensorFill?
            switch kind {
            case "kaiming_uniform": fill = try TorchInit.kaimingUniform(shape: shape, a: hexDouble(args[0]), mode: args[1], nonlinearity: args[2])
            case "kaiming_normal": fill = try TorchInit.kaimingNormal(shape: shape, a: hexDouble(args[0]), mode: args[1], nonlinearity: args[2])
            case "xavier_uniform": fill = try TorchInit.xavierUniform(shape: shape, gain: hexDouble(args[0]))
            case "xavier_normal": fill = try TorchInit.xavierNormal(shape: shape, gain: hexDouble(args[0]))
            case "orthogonal": fill = try TorchInit.orthogonal(shape: shape, gain: hexDouble(args[0]))
            default: XCTFail(kind); continue
            }
            let n = numel(shape)
            var g = CPUGenerator(seed: UInt64(c.int("seed")))
            var shadow = g
            var out = [Float](repeating: .nan, count: n)
            out.withUnsafeMutableBufferPointer { fill!.apply(to: $0, shape: shape, generator: &g) }
            fill!.advance(count: n, dtype: .float32, shape: shape, generator: &shadow)
            let want = ref.u32(c["out"]).map { Float(bitPattern: $0) }
            if kind == "orthogonal" {
                for i in 0..<n { XCTAssertEqual(out[i], want[i], accuracy: 2e-6, "\(name) [\(i)]") }
            } else {
                XCTAssertEqual(out.map(\.bitPattern), want.map(\.bitPattern), name)
            }
            let st = c.dict("state")
            XCTAssertEqual(g.engine.stateWords, ref.u32(st["words"]), name)
            XCTAssertEqual(625 - (624 - g.engine.remainingInBlock), st.int("left"), name)
            XCTAssertEqual(g.spare.map { String($0.bitPattern, radix: 16) }, (st["spare"] as? String).map { String(UInt64($0, radix: 16)!, radix: 16) }, name)
            XCTAssertEqual(shadow.engine.stateWords, g.engine.stateWords, name)
            XCTAssertEqual(shadow.engine.remainingInBlock, g.engine.remainingInBlock, name)
            XCTAssertEqual(shadow.spare?.bitPattern, g.spare?.bitPattern, name)
        }
    }

    /// Linear(20, 30) default init with seed 13 (the golden `defaults_all_leaves` draw order): weight kaiming_uniform(a=√5)
    /// over 600 values, then the bias U(±1/√20) over 30 values; the weight is in the fixture, the bias continues the stream.
    func testLinearDefaultBound() throws {
        let w = try XCTUnwrap(try TorchInit.defaultWeight(shape: [30, 20]))
        guard case .uniform(let lo, let hi) = w else { return XCTFail() }
        XCTAssertEqual(hi, -lo)
        XCTAssertEqual(Float(hi), Float(1 / 20.0.squareRoot()))   // sqrt(3)·sqrt(2/6.000000000000001)/sqrt(20) rounds to the same float
        XCTAssertEqual(TorchInit.defaultBiasBound(fanIn: 20), 1 / 20.0.squareRoot())
        XCTAssertEqual(TorchInit.defaultBiasBound(fanIn: 0), 0)
        XCTAssertNil(try TorchInit.kaimingUniform(shape: [0, 5], a: 5.0.squareRoot(), mode: "fan_in", nonlinearity: "leaky_relu"))
        XCTAssertNil(try TorchInit.kaimingNormal(shape: [3, 0, 2], a: 0, mode: "fan_in", nonlinearity: "relu"))
        XCTAssertNil(try TorchInit.orthogonal(shape: [0, 3], gain: 1))
    }

    // MARK: MMEngine trunc_normal_

    func testMMEngineTruncNormal() {
        var exact = 0, total = 0
        for c in ref.array("trunc") {
            let p = c.doubles("p"), dt = c.str("dtype")
            let fill = TorchInit.mmengineTruncNormal(mean: p[0], std: p[1], a: p[2], b: p[3]).fill
            var g = CPUGenerator(seed: UInt64(c.int("seed")))
            var shadow = g
            if dt == "f32" {
                let want = ref.u32(c["out"]).map { Float(bitPattern: $0) }
                var out = [Float](repeating: .nan, count: want.count)
                out.withUnsafeMutableBufferPointer { fill.apply(to: $0, shape: [want.count], generator: &g) }
                fill.advance(count: want.count, dtype: .float32, shape: [want.count], generator: &shadow)
                for i in 0..<want.count {
                    let d = ulpDistance(out[i], want[i])
                    XCTAssertLessThanOrEqual(d, 2, "\(p) [\(i)] \(out[i]) vs \(want[i])")
                    if d == 0 { exact += 1 }
                    total += 1
                }
            } else {
                let want = ref.u64(c["out"]).map { Double(bitPattern: $0) }
                var out = [Double](repeating: .nan, count: want.count)
                out.withUnsafeMutableBufferPointer { fill.apply(to: $0, shape: [want.count], generator: &g) }
                fill.advance(count: want.count, dtype: .float64, shape: [want.count], generator: &shadow)
                // MKL vmdErfInv vs our erfinv: ≤ a few ulp before `add_(mean)`, so compare with an absolute tolerance
                // scaled to the intermediate and the mean (cancellation near 0 makes ulp counts meaningless).
                for i in 0..<want.count {
                    let tol = 4 * ((want[i] - p[0]).magnitude.ulp + p[0].magnitude.ulp + want[i].magnitude.ulp)
                    XCTAssertEqual(out[i], want[i], accuracy: tol, "f64 \(p) [\(i)]")
                }
            }
            XCTAssertEqual(g.engine.stateWords, ref.u32(c.dict("state")["words"]))
            XCTAssertEqual(shadow.engine.stateWords, g.engine.stateWords)
            XCTAssertEqual(shadow.engine.remainingInBlock, g.engine.remainingInBlock)
        }
        XCTAssertGreaterThan(Double(exact) / Double(total), 0.999, "exact \(exact)/\(total)")
        XCTAssertTrue(TorchInit.mmengineTruncNormal(mean: 5, std: 1, a: -2, b: 2).warns)
        XCTAssertFalse(TorchInit.mmengineTruncNormal(mean: 0, std: 0.02, a: -2, b: 2).warns)
    }

    // MARK: erfinv vs torch (MKL vmsErfInv / vmdErfInv)

    func testErfinvAgainstTorch() {
        let e32 = ref.json["erfinv32"] as! [String: Any]
        let xs = ref.u32(e32["x"]).map { Float(bitPattern: $0) }, ys = ref.u32(e32["y"]).map { Float(bitPattern: $0) }
        var exact = 0, fastExact = 0
        for (x, y) in zip(xs, ys) {
            // the fast float32 path (MMEngine trunc_normal_ on float32) against torch as well
            let fast = ErfinvFloat.erfinv(x)
            if fast.bitPattern == y.bitPattern { fastExact += 1 } else {
                XCTAssertLessThanOrEqual(ulpDistance(fast, y), 1, "ErfinvFloat.erfinv(\(x)) = \(fast), torch \(y)")
            }
            let got = Float(erfinv(Double(x)))
            if got.bitPattern == y.bitPattern { exact += 1; continue }
            XCTAssertLessThanOrEqual(ulpDistance(got, y), 1, "erfinv(\(x)) = \(got), torch \(y)")
        }
        XCTAssertGreaterThan(Double(exact) / Double(xs.count), 0.999, "float32 exact \(exact)/\(xs.count)")
        XCTAssertGreaterThan(Double(fastExact) / Double(xs.count), 0.999, "float32 (fast) exact \(fastExact)/\(xs.count)")
        let e64 = ref.json["erfinv64"] as! [String: Any]
        let xd = ref.u64(e64["x"]).map { Double(bitPattern: $0) }, yd = ref.u64(e64["y"]).map { Double(bitPattern: $0) }
        var worst: UInt64 = 0
        for (x, y) in zip(xd, yd) { worst = max(worst, ulpDistance(erfinv(x), y)) }
        XCTAssertLessThanOrEqual(worst, 4, "float64 worst ulp")
    }

    // MARK: casts

    func testFloat16BFloat16AgainstTorch() {
        let c = ref.json["cast32"] as! [String: Any]
        let xs = ref.u32(c["x"]).map { Float(bitPattern: $0) }
        let f16 = ref.u16(c["f16"]), bf16 = ref.u16(c["bf16"])
        for i in 0..<xs.count {
            XCTAssertEqual(FloatBits.float16(xs[i]), f16[i], "f16 \(String(xs[i].bitPattern, radix: 16))")
            XCTAssertEqual(FloatBits.bfloat16Vectorized(xs[i]), bf16[i], "bf16 \(String(xs[i].bitPattern, radix: 16))")
        }
        // scalar c10::BFloat16(float) semantics (python float → 0-dim tensor → bf16): NaN → 0x7FC0
        let scalar = (c["bf16_scalar"] as! [NSNumber]).map { UInt16($0.intValue) }
        for i in 0..<scalar.count where !xs[i].isNaN {
            XCTAssertEqual(FloatBits.bfloat16(xs[i]), scalar[i], "bf16 scalar \(String(xs[i].bitPattern, radix: 16))")
        }
        XCTAssertEqual(FloatBits.bfloat16(.nan), 0x7FC0)
        XCTAssertEqual(FloatBits.bfloat16(-.nan), 0x7FC0)
        // encode (float32 tensor .to(dtype))
        var enc16 = [UInt8](repeating: 0, count: xs.count * 2), encb = enc16, enc32 = [UInt8](repeating: 0, count: xs.count * 4)
        xs.withUnsafeBufferPointer { src in
            enc16.withUnsafeMutableBytes { encode(src, as: .float16, into: $0) }
            encb.withUnsafeMutableBytes { encode(src, as: .bfloat16, into: $0) }
            enc32.withUnsafeMutableBytes { encode(src, as: .float32, into: $0) }
        }
        for i in 0..<xs.count {
            XCTAssertEqual(UInt16(enc16[2 * i]) | UInt16(enc16[2 * i + 1]) << 8, f16[i])
            XCTAssertEqual(UInt16(encb[2 * i]) | UInt16(encb[2 * i + 1]) << 8, bf16[i])
            let w = (0..<4).reduce(UInt32(0)) { $0 | UInt32(enc32[4 * i + $1]) << (8 * $1) }
            XCTAssertEqual(w, xs[i].bitPattern)
        }
        // round trips
        for i in 0..<xs.count where !xs[i].isNaN {
            XCTAssertEqual(FloatBits.float16(FloatBits.float(fromFloat16: f16[i])), f16[i])
        }
    }

    func testEncodeFromFloat64AgainstTorch() {
        let c = ref.json["cast64"] as! [String: Any]
        let xs = ref.u64(c["x"]).map { Double(bitPattern: $0) }
        let f16 = ref.u16(c["f16"]), bf16 = ref.u16(c["bf16"]), f32 = ref.u32(c["f32"])
        var e16 = [UInt8](repeating: 0, count: xs.count * 2), eb = e16
        var e32 = [UInt8](repeating: 0, count: xs.count * 4), e64 = [UInt8](repeating: 0, count: xs.count * 8)
        xs.withUnsafeBufferPointer { src in
            e16.withUnsafeMutableBytes { encode(src, as: .float16, into: $0) }
            eb.withUnsafeMutableBytes { encode(src, as: .bfloat16, into: $0) }
            e32.withUnsafeMutableBytes { encode(src, as: .float32, into: $0) }
            e64.withUnsafeMutableBytes { encode(src, as: .float64, into: $0) }
        }
        for i in 0..<xs.count {
            XCTAssertEqual(UInt16(e16[2 * i]) | UInt16(e16[2 * i + 1]) << 8, f16[i], "f16 of \(xs[i])")
            XCTAssertEqual(UInt16(eb[2 * i]) | UInt16(eb[2 * i + 1]) << 8, bf16[i], "bf16 of \(xs[i])")
            let w = (0..<4).reduce(UInt32(0)) { $0 | UInt32(e32[4 * i + $1]) << (8 * $1) }
            XCTAssertEqual(w, f32[i], "f32 of \(xs[i])")
            let w64 = (0..<8).reduce(UInt64(0)) { $0 | UInt64(e64[8 * i + $1]) << (8 * $1) }
            XCTAssertEqual(w64, xs[i].bitPattern)
        }
    }
}
