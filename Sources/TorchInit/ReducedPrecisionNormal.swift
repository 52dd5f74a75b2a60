import Tensors
import TorchRandom

/// `normal_` on a contiguous float16/bfloat16 tensor differs from float32 in its tail (measured on torch 2.15,
/// x86 AVX2): the full blocks of 16 are the float32 fill path's, but when numel % 16 ≠ 0 the last 16 values come
/// from 16 fresh draws taken right after the full blocks' (numel − numel % 16 + 16 draws in all, not numel + 16).
/// numel < 16 is the per-element path, as for float32.
public enum ReducedPrecisionNormal {
    /// True when `normal_` on `count` elements of `dtype` takes this path (and differs from float32).
    public static func differs(count: Int, dtype: DType) -> Bool {
        (dtype == .float16 || dtype == .bfloat16) && count >= 16 && count % 16 != 0
    }

    /// The values in float (before rounding to the 16-bit dtype).
    public static func fill(_ out: UnsafeMutableBufferPointer<Float>, mean: Double, std: Double, _ g: inout CPUGenerator) {
        let n = out.count
        guard n >= 16, n % 16 != 0 else {
            Distributions.normal(out, mean: mean, std: std, &g)
            return
        }
        let full = n - n % 16
        Distributions.normal(out.extracting(0..<full), mean: mean, std: std, &g)
        let tail = UnsafeMutableBufferPointer<Float>.allocate(capacity: 16)
        defer { tail.deallocate() }
        Distributions.normal(tail, mean: mean, std: std, &g)
        for k in 0..<16 { out[n - 16 + k] = tail[k] }
    }

    /// 32-bit draws of `normal_` on `count` elements of a float16/bfloat16 tensor, when `differs`.
    public static func draws(count: Int) -> Int { count - count % 16 + 16 }
}

extension TensorFill {
    /// Applies the fill to the values of a tensor of `dtype` held as floats (float32/float16/bfloat16), rounded to
    /// `dtype`: as `apply`, with the 16-bit tensors' own `normal_` tail.
    public func apply(to out: UnsafeMutableBufferPointer<Float>, dtype: DType, generator g: inout CPUGenerator,
                      mkl: ErfinvMKL.Path = .sse4_2) {
        if case .normal(let mean, let std) = self, ReducedPrecisionNormal.differs(count: out.count, dtype: dtype) {
            ReducedPrecisionNormal.fill(out, mean: mean, std: std, &g)
        } else {
            apply(to: out, shape: [out.count], generator: &g, mkl: mkl)
        }
        roundTo(dtype, out)
    }
}
