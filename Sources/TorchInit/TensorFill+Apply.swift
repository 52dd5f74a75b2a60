#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tensors
import TorchRandom

extension TensorFill {
    /// True when applying it consumes random draws.
    public var isRandom: Bool {
        switch self {
        case .constant: false
        case .uniform, .normal, .mmengineTruncNormal, .orthogonal: true
        }
    }

    /// Writes the tensor exactly as torch does on x86 AVX2 (contiguous tensor of `shape`, float32 storage), with
    /// erfinv as MKL's `mkl` code path computes it. `out.count` must equal `numel(shape)`.
    public func apply(to out: UnsafeMutableBufferPointer<Float>, shape: [Int], generator g: inout CPUGenerator,
                      mkl: ErfinvMKL.Path = .sse4_2) {
        precondition(out.count == numel(shape), "TensorFill.apply: buffer size \(out.count) ≠ numel\(shape)")
        switch self {
        case .constant(let v):
            out.initialize(repeating: Float(v))
        case .uniform(let from, let to):
            Distributions.uniform(out, from: from, to: to, &g)
        case .normal(let mean, let std):
            Distributions.normal(out, mean: mean, std: std, &g)
        case .mmengineTruncNormal(let mean, let std, let a, let b):
            let p = TruncNormalParams(mean: mean, std: std, a: a, b: b)
            Distributions.uniform(out, from: p.lo, to: p.hi, &g)
            guard let p0 = out.baseAddress else { return }
            // erfinv_, mul_(std·√2), add_(mean), clamp_(a, b) on float32, vectorized (ErfinvFloat gives the
            // correctly rounded float erfinv: the same bits as Float(erfinv(Double(x))), see ErfinvFloatTests).
            // Elementwise, so split across the generation threads like the uniform draws before it.
            let base = UnsafeSendablePointer(p0)
            let scale = Float(std * sqrt(2.0)), m = Float(mean), lo = Float(a), hi = Float(b)
            ParallelFill.forEachRange(out.count) { r in
                ErfinvFloat.truncNormalTransform(base.pointer + r.lowerBound, count: r.count, scale: scale, mean: m,
                                                 lo: lo, hi: hi, mkl: mkl)
            }
        case .orthogonal(let gain):
            Orthogonal.fill(out, shape: shape, gain: gain, &g)
        }
    }

    /// Same as above for float64 storage.
    public func apply(to out: UnsafeMutableBufferPointer<Double>, shape: [Int], generator g: inout CPUGenerator) {
        precondition(out.count == numel(shape), "TensorFill.apply: buffer size \(out.count) ≠ numel\(shape)")
        switch self {
        case .constant(let v):
            out.initialize(repeating: v)
        case .uniform(let from, let to):
            Distributions.uniform(out, from: from, to: to, &g)
        case .normal(let mean, let std):
            Distributions.normal(out, mean: mean, std: std, &g)
        case .mmengineTruncNormal(let mean, let std, let a, let b):
            let p = TruncNormalParams(mean: mean, std: std, a: a, b: b)
            Distributions.uniform(out, from: p.lo, to: p.hi, &g)
            let scale = std * sqrt(2.0)
            for i in 0..<out.count {
                var v = erfinv(out[i])
                v = v * scale
                v = v + mean
                out[i] = clampNaN(v, a, b)
            }
        case .orthogonal(let gain):
            Orthogonal.fill(out, shape: shape, gain: gain, &g)
        }
    }

    /// Consumes exactly the draws `apply` would, and leaves `g.spare` exactly as `apply` would.
    /// `count` = numel(shape); `dtype` float64 means float64 storage (2 draws per uniform), any other dtype
    /// means the tensor is filled in float32 (or natively in float16/bfloat16: same draw counts).
    public func advance(count: Int, dtype: DType, shape: [Int], generator g: inout CPUGenerator) {
        guard count > 0 else { return }
        let wide = dtype == .float64
        switch self {
        case .constant:
            return
        case .uniform, .mmengineTruncNormal:
            g.skip(Distributions.uniformDraws(count: count, wide: wide))
        case .normal where ReducedPrecisionNormal.differs(count: count, dtype: dtype):
            g.skip(ReducedPrecisionNormal.draws(count: count))
        case .normal, .orthogonal:
            Distributions.advanceNormal(count: count, wide: wide, &g)
        }
    }
}

/// A buffer handed to the threads of one fill (each touches its own range).
struct UnsafeSendablePointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ p: UnsafeMutablePointer<T>) { pointer = p }
}

/// torch.clamp_(min, max) semantics: NaN propagates, else min(max(x, lo), hi).
@inline(__always)
func clampNaN<T: BinaryFloatingPoint>(_ x: T, _ lo: T, _ hi: T) -> T {
    if x.isNaN { return x }
    var v = x < lo ? lo : x
    v = v > hi ? hi : v
    return v
}

/// MMEngine `_no_grad_trunc_normal_` uniform bounds, in Python double arithmetic.
struct TruncNormalParams {
    let lo: Double, hi: Double
    init(mean: Double, std: Double, a: Double, b: Double) {
        func normCDF(_ x: Double) -> Double { (1.0 + erf(x / sqrt(2.0))) / 2.0 }
        let lower = normCDF((a - mean) / std)
        let upper = normCDF((b - mean) / std)
        lo = 2 * lower - 1
        hi = 2 * upper - 1
    }
}
