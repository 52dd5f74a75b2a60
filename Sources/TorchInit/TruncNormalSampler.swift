#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tensors
import TorchRandom

/// torch 2.15 `nn.init.trunc_normal_(t, mean, std, a, b)` for p > 0.3 (torch/nn/init.py `_no_grad_trunc_normal_`):
/// `result = t.normal_(mean, std)`; while any value is < lo or > hi (lo, hi = a, b rounded to t's dtype; NaN is
/// never out of bounds), draw a full-size fresh `normal_(mean, std)` tensor and take it where out of bounds.
/// Each round is a whole `normal_` on numel elements (the ≥ 16 fill path or the per-element path with the spare).
public enum TruncNormalSampler {
    /// `norm_cdf((b − mean)/std) − norm_cdf((a − mean)/std)` in Python double arithmetic.
    public static func p(mean: Double, std: Double, a: Double, b: Double) -> Double {
        func cdf(_ x: Double) -> Double { (1.0 + erf(x / 2.0.squareRoot())) / 2.0 }
        return cdf((b - mean) / std) - cdf((a - mean) / std)
    }

    /// True when no value `normal_` can produce lies outside [a, b], so the call is exactly one `normal_`:
    /// the float32 fill path's radius is at most √(−2 ln 2⁻²⁴) ≈ 5.77, the double paths' ≈ 8.6; 10σ leaves a margin
    /// for the rounding of mean + std·z.
    public static func isSingleNormal(mean: Double, std: Double, a: Double, b: Double) -> Bool {
        guard std.isFinite, std >= 0, mean.isFinite else { return false }
        return mean - a > 10 * std && b - mean > 10 * std
    }

    /// Samples into the values of a float32/float16/bfloat16 tensor (floats, rounded to `dtype`).
    public static func sample(_ out: UnsafeMutableBufferPointer<Float>, dtype: DType, mean: Double, std: Double,
                              a: Double, b: Double, _ g: inout CPUGenerator) {
        let n = out.count
        guard n > 0 else { return }
        let lo = Float(ScalarOpRounding.stored(a, dtype)), hi = Float(ScalarOpRounding.stored(b, dtype))
        TensorFill.normal(mean: mean, std: std).apply(to: out, dtype: dtype, generator: &g)
        let fresh = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
        defer { fresh.deallocate() }
        while out.contains(where: { $0 < lo || $0 > hi }) {
            TensorFill.normal(mean: mean, std: std).apply(to: fresh, dtype: dtype, generator: &g)
            for i in 0..<n where out[i] < lo || out[i] > hi { out[i] = fresh[i] }
        }
    }

    /// Samples into the values of a float64 tensor.
    public static func sample(_ out: UnsafeMutableBufferPointer<Double>, mean: Double, std: Double,
                              a: Double, b: Double, _ g: inout CPUGenerator) {
        let n = out.count
        guard n > 0 else { return }
        Distributions.normal(out, mean: mean, std: std, &g)
        let fresh = UnsafeMutableBufferPointer<Double>.allocate(capacity: n)
        defer { fresh.deallocate() }
        while out.contains(where: { $0 < a || $0 > b }) {
            Distributions.normal(fresh, mean: mean, std: std, &g)
            for i in 0..<n where out[i] < a || out[i] > b { out[i] = fresh[i] }
        }
    }

    /// Advances `g` exactly as `sample` would (the draw count depends on the values, so they are computed).
    public static func advance(count: Int, dtype: DType, mean: Double, std: Double, a: Double, b: Double, _ g: inout CPUGenerator) {
        guard count > 0 else { return }
        if dtype == .float64 {
            let buf = UnsafeMutableBufferPointer<Double>.allocate(capacity: count)
            defer { buf.deallocate() }
            sample(buf, mean: mean, std: std, a: a, b: b, &g)
        } else {
            let buf = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
            defer { buf.deallocate() }
            sample(buf, dtype: dtype, mean: mean, std: std, a: a, b: b, &g)
        }
    }
}

/// A Python float as a tensor of `dtype` stores it (`tensor.new_tensor(v).item()`, `fill_(v)`).
public enum ScalarOpRounding {
    public static func stored(_ v: Double, _ dtype: DType) -> Double {
        switch dtype {
        case .float64: v
        case .float16: Double(FloatBits.float(fromFloat16: FloatBits.float16(Float(v))))
        case .bfloat16: Double(FloatBits.float(fromBFloat16: FloatBits.bfloat16(Float(v))))
        case .int64, .int32: v.rounded(.towardZero)
        case .bool: v != 0 ? 1 : 0
        case .float32: Double(Float(v))
        }
    }
}
