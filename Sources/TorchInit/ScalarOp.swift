import Tensors
import TorchRandom

/// An in-place elementwise op with Python scalars (`mul_`, `div_`, `add_`/`sub_`, `clamp_`, `erfinv_`), as torch's CPU
/// kernels compute it (verified against torch 2.15, Tests/EngineTests/Fixtures/programs/make_programs.py):
/// - float32/float16/bfloat16 tensors compute in float and round back to the tensor's dtype after the op;
///   float64 computes in double.
/// - `mul_(s)`: `x * float(s)`; `div_(s)`: `x / float(s)` (a true division, not a multiply by the reciprocal).
/// - `add_(other, alpha)`: `other` is first converted to the tensor's dtype (a float16 tensor adds `half(other)`),
///   then `x + alpha·other`; torch fuses that multiply-add in its vector loop but not always in the tail, so only
///   alphas whose product with `other` is exact are accepted (`refusal`); `sub_(o, alpha)` is `add_(o, -alpha)`.
/// - `clamp_(min, max)`: NaN input stays NaN, a NaN bound gives NaN everywhere, `min > max` gives `max`, ties keep `x`.
/// - `erfinv_`: float32 only (MKL `vmsErfInv`, `ErfinvFloat`).
public enum ScalarOp: Sendable, Equatable {
    case mul(Double)
    case div(Double)
    /// `add_(other, alpha=alpha)`; `sub_` is recorded with `-alpha`.
    case add(Double, alpha: Double)
    case clamp(min: Double?, max: Double?)
    case erfinv

    /// Why this op cannot be reproduced exactly on a tensor of `dtype` (nil: it can).
    public func refusal(dtype: DType) -> String? {
        guard dtype.isFloatingPoint else { return "in-place arithmetic on a \(dtype) tensor is not supported" }
        switch self {
        case .add(let other, let alpha):
            if alpha == 1 || alpha == -1 { return nil }
            switch dtype {
            case .float64:
                if isExactProduct(alpha, other) { return nil }
            case .float32:
                let a = Double(Float(alpha)), o = Double(Float(other))
                if isExactProduct(a, o) && Double(Float(a * o)) == a * o { return nil }
            default:
                break
            }
            return "add_/sub_ with alpha=\(alpha) on a \(dtype) tensor is not reproduced exactly (torch fuses alpha·other into the add in its vector loop but not in the loop's tail); only alphas whose product with other is exact are supported"
        case .erfinv:
            return dtype == .float32 ? nil : "erfinv_ is only reproduced on float32 tensors (MKL vmsErfInv), not \(dtype)"
        default:
            return nil
        }
    }

    /// True when a·b is exact in double (so fused and unfused agree when both are floats).
    private func isExactProduct(_ a: Double, _ b: Double) -> Bool {
        let p = a * b
        return p.isFinite && (-p).addingProduct(a, b) == 0
    }

    /// `other` converted to the tensor's dtype, as a float.
    static func operand(_ v: Double, _ dtype: DType) -> Float {
        switch dtype {
        case .float16: FloatBits.float(fromFloat16: FloatBits.float16(Float(v)))
        case .bfloat16: FloatBits.float(fromBFloat16: FloatBits.bfloat16(Float(v)))
        default: Float(v)
        }
    }

    /// Applies the op to the values of a float32/float16/bfloat16 tensor (held as floats), rounding to `dtype`;
    /// erfinv as MKL's `mkl` code path computes it.
    public func apply(_ v: UnsafeMutableBufferPointer<Float>, dtype: DType, mkl: ErfinvMKL.Path = .sse4_2) {
        switch self {
        case .mul(let s):
            let f = Float(s)
            for i in v.indices { v[i] = v[i] * f }
        case .div(let s):
            let f = Float(s)
            for i in v.indices { v[i] = v[i] / f }
        case .add(let other, let alpha):
            let o = ScalarOp.operand(other, dtype)
            let p = alpha == 1 ? o : Float(alpha) * o
            for i in v.indices { v[i] = v[i] + p }
        case .clamp(let lo, let hi):
            if lo?.isNaN == true || hi?.isNaN == true {
                v.initialize(repeating: .nan)
            } else {
                let l = lo.map(Float.init) ?? -.infinity, h = hi.map(Float.init) ?? .infinity
                for i in v.indices { v[i] = clampNaN(v[i], l, h) }
            }
        case .erfinv:
            if let p = v.baseAddress {
                ErfinvFloat.truncNormalTransform(p, count: v.count, scale: 1, mean: -0.0, lo: -.infinity, hi: .infinity,
                                                 mkl: mkl)
            }
        }
        roundTo(dtype, v)
    }

    /// Applies the op to the values of a float64 tensor.
    public func apply(_ v: UnsafeMutableBufferPointer<Double>) {
        switch self {
        case .mul(let s):
            for i in v.indices { v[i] = v[i] * s }
        case .div(let s):
            for i in v.indices { v[i] = v[i] / s }
        case .add(let other, let alpha):
            let p = alpha == 1 ? other : alpha * other
            for i in v.indices { v[i] = v[i] + p }
        case .clamp(let lo, let hi):
            if lo?.isNaN == true || hi?.isNaN == true {
                v.initialize(repeating: .nan)
            } else {
                let l = lo ?? -.infinity, h = hi ?? .infinity
                for i in v.indices { v[i] = clampNaN(v[i], l, h) }
            }
        case .erfinv:
            preconditionFailure("ScalarOp.erfinv on float64 is refused at validation")
        }
    }
}

/// Rounds float values to a float16/bfloat16 tensor's values (no-op for float32).
public func roundTo(_ dtype: DType, _ v: UnsafeMutableBufferPointer<Float>) {
    switch dtype {
    case .float16: for i in v.indices { v[i] = FloatBits.float(fromFloat16: FloatBits.float16(v[i])) }
    case .bfloat16: for i in v.indices { v[i] = FloatBits.float(fromBFloat16: FloatBits.bfloat16(v[i])) }
    default: return
    }
}
