#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tensors
import TorchRandom

/// `"rng": "counter"` (docs/counter-rng.md): every element's value is a pure function of the stream key (seed and
/// tensor name), the write's ordinal, the redraw round and the element's index in its storage. Element `i` uses the
/// Philox4x32-10 block of counter (i mod 2³², i >> 32, ordinal, round) → (x0, x1, x2, x3):
/// - uniform, float: u = (x0 & 0xFFFFFF)·2⁻²⁴ ∈ [0, 1), v = fma(u, f32(to) − f32(from), f32(from)), v == to → from
///   (torch's float uniform_ arithmetic);
/// - uniform, float64: u = ((x0 << 32 | x1) & (2⁵³ − 1))·2⁻⁵³, v = fma(u, to − from, from), v == to → from;
/// - normal: u1 = 53 bits of (x0, x1), u2 = 53 bits of (x2, x3), z = √(−2·ln(1 − u1))·cos(2π·u2) (Box–Muller, the
///   cosine branch), v = fma(z, std, mean) in double (rounded to float for float storage);
/// - MMEngine TruncNormal: the uniform in [2Φ(α)−1, 2Φ(β)−1], then erfinv, ·std·√2, +mean, clamp (as torch mode);
/// - torch trunc_normal_: an element outside [a, b] is redrawn with round 1, 2, … until inside (elementwise rejection);
/// - orthogonal: N(0, 1) over the whole tensor, then the same QR as torch mode.
public enum CounterFill {
    @inline(__always) static func u24(_ x: UInt32) -> Float { Float(x & 0xFF_FFFF) * 0x1p-24 }
    @inline(__always) static func u53(_ hi: UInt32, _ lo: UInt32) -> Double {
        Double(((UInt64(hi) << 32) | UInt64(lo)) & 0x1F_FFFF_FFFF_FFFF) * 0x1p-53
    }

    /// The standard normal of element `index` (write `ordinal`, redraw `round`).
    @inline(__always)
    public static func standardNormal(_ key: CounterKey, _ index: Int, ordinal: UInt32, round: UInt32 = 0) -> Double {
        let w = key.words(index, ordinal: ordinal, round: round)
        let u1 = u53(w.0, w.1), u2 = u53(w.2, w.3)
        return (-2.0 * log1p(-u1)).squareRoot() * cos(2.0 * Double.pi * u2)
    }

    /// The [0, 1) uniform of element `index` for float storage.
    @inline(__always)
    public static func uniform24(_ key: CounterKey, _ index: Int, ordinal: UInt32) -> Float {
        u24(key.words(index, ordinal: ordinal).0)
    }

    /// The [0, 1) uniform of element `index` for float64 storage.
    @inline(__always)
    public static func uniform53(_ key: CounterKey, _ index: Int, ordinal: UInt32) -> Double {
        let w = key.words(index, ordinal: ordinal)
        return u53(w.0, w.1)
    }

    /// True when `fill` can be produced for any element range (everything but orthogonal).
    public static func isElementwise(_ fill: TensorFill) -> Bool {
        if case .orthogonal = fill { return false }
        return true
    }

    /// Elements `start ..< start + out.count` of `fill` (float storage; values in float, the caller rounds to a
    /// 16-bit dtype). `shape` is the whole tensor's (used by orthogonal only, which needs `start == 0` and the whole).
    public static func fill(_ fill: TensorFill, key: CounterKey, ordinal: UInt32, start: Int, shape: [Int],
                            into out: UnsafeMutableBufferPointer<Float>) {
        let n = out.count
        guard n > 0 else { return }
        switch fill {
        case .constant(let v):
            out.initialize(repeating: Float(v))
        case .uniform(let from, let to):
            let f = Float(from), t = Float(to), d = t - f
            for i in 0..<n {
                let v = f.addingProduct(uniform24(key, start &+ i, ordinal: ordinal), d)
                out[i] = v == t ? f : v
            }
        case .normal(let mean, let std):
            for i in 0..<n { out[i] = Float(mean.addingProduct(standardNormal(key, start &+ i, ordinal: ordinal), std)) }
        case .mmengineTruncNormal(let mean, let std, let a, let b):
            let p = TruncNormalParams(mean: mean, std: std, a: a, b: b)
            let f = Float(p.lo), t = Float(p.hi), d = t - f
            for i in 0..<n {
                let v = f.addingProduct(uniform24(key, start &+ i, ordinal: ordinal), d)
                out[i] = v == t ? f : v
            }
            ErfinvFloat.truncNormalTransform(out.baseAddress!, count: n, scale: Float(std * sqrt(2.0)), mean: Float(mean),
                                             lo: Float(a), hi: Float(b))
        case .orthogonal(let gain):
            precondition(start == 0 && n == numel(shape), "CounterFill: orthogonal is produced whole")
            let rows = shape[0], cols = n / rows
            var a = [Double](repeating: 0, count: n)
            for i in 0..<n { a[i] = Double(Float(standardNormal(key, i, ordinal: ordinal))) }
            let q = Orthogonal.orthonormalize(a, rows: rows, cols: cols)
            let fg = Float(gain)
            for i in 0..<n { out[i] = Float(q[i]) * fg }
        }
    }

    /// Same for float64 storage.
    public static func fill(_ fill: TensorFill, key: CounterKey, ordinal: UInt32, start: Int, shape: [Int],
                            into out: UnsafeMutableBufferPointer<Double>) {
        let n = out.count
        guard n > 0 else { return }
        switch fill {
        case .constant(let v):
            out.initialize(repeating: v)
        case .uniform(let from, let to):
            let d = to - from
            for i in 0..<n {
                let v = from.addingProduct(uniform53(key, start &+ i, ordinal: ordinal), d)
                out[i] = v == to ? from : v
            }
        case .normal(let mean, let std):
            for i in 0..<n { out[i] = mean.addingProduct(standardNormal(key, start &+ i, ordinal: ordinal), std) }
        case .mmengineTruncNormal(let mean, let std, let a, let b):
            let p = TruncNormalParams(mean: mean, std: std, a: a, b: b)
            let d = p.hi - p.lo, scale = std * sqrt(2.0)
            for i in 0..<n {
                var u = p.lo.addingProduct(uniform53(key, start &+ i, ordinal: ordinal), d)
                if u == p.hi { u = p.lo }
                out[i] = clampNaN(mean.addingProduct(erfinv(u), scale), a, b)
            }
        case .orthogonal(let gain):
            precondition(start == 0 && n == numel(shape), "CounterFill: orthogonal is produced whole")
            let rows = shape[0], cols = n / rows
            var a = [Double](repeating: 0, count: n)
            for i in 0..<n { a[i] = standardNormal(key, i, ordinal: ordinal) }
            let q = Orthogonal.orthonormalize(a, rows: rows, cols: cols)
            for i in 0..<n { out[i] = q[i] * gain }
        }
    }

    /// torch's `trunc_normal_` in counter mode: N(mean, std) per element, redrawn (round 1, 2, …) while outside
    /// [a, b] (bounds rounded to `dtype`). `start` is the first element's index in its storage.
    public static func truncNormal(_ out: UnsafeMutableBufferPointer<Float>, dtype: DType, mean: Double, std: Double,
                                   a: Double, b: Double, key: CounterKey, ordinal: UInt32, start: Int) {
        let lo = Float(ScalarOpRounding.stored(a, dtype)), hi = Float(ScalarOpRounding.stored(b, dtype))
        for i in 0..<out.count {
            var round: UInt32 = 0
            while true {
                var v = Float(mean.addingProduct(standardNormal(key, start &+ i, ordinal: ordinal, round: round), std))
                if dtype == .float16 { v = FloatBits.float(fromFloat16: FloatBits.float16(v)) }
                if dtype == .bfloat16 { v = FloatBits.float(fromBFloat16: FloatBits.bfloat16(v)) }
                if (v >= lo && v <= hi) || round == UInt32.max { out[i] = v; break }
                round &+= 1
            }
        }
    }

    public static func truncNormal(_ out: UnsafeMutableBufferPointer<Double>, mean: Double, std: Double,
                                   a: Double, b: Double, key: CounterKey, ordinal: UInt32, start: Int) {
        for i in 0..<out.count {
            var round: UInt32 = 0
            while true {
                let v = mean.addingProduct(standardNormal(key, start &+ i, ordinal: ordinal, round: round), std)
                if (v >= a && v <= b) || round == UInt32.max { out[i] = v; break }
                round &+= 1
            }
        }
    }
}
