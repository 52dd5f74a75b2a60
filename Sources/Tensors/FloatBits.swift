/// Bit-exact float32 → float16 / bfloat16 conversions as PyTorch (x86, AVX2 build) performs them.
public enum FloatBits {
    /// float32 → IEEE binary16 bits, round to nearest even (torch `.to(float16)`, F16C `vcvtps2ph` semantics).
    /// Overflow (|x| ≥ 65520) → ±inf. NaN stays NaN with its sign and top payload bits, quiet bit set
    /// (torch: 0x7FC00000 → 0x7E00, 0x7FFFFFFF → 0x7FFF, 0xFFC00000 → 0xFE00).
    @inlinable @inline(__always)
    public static func float16(_ x: Float) -> UInt16 {
        var u = x.bitPattern
        let sign = UInt16(truncatingIfNeeded: (u >> 16) & 0x8000)
        u &= 0x7FFF_FFFF
        if u >= 0x4780_0000 {  // ≥ 65536: inf, or NaN
            if u > 0x7F80_0000 { return sign | 0x7E00 | UInt16(truncatingIfNeeded: (u >> 13) & 0x3FF) }
            return sign | 0x7C00
        }
        if u < 0x3880_0000 {  // result is subnormal or zero: let the FPU round (magic 0.5)
            let f = Float(bitPattern: u) + Float(bitPattern: 0x3F00_0000)
            return sign | UInt16(truncatingIfNeeded: f.bitPattern &- 0x3F00_0000)
        }
        let mantOdd = (u >> 13) & 1
        u = u &+ 0xC800_0FFF  // rebias exponent (15 - 127) << 23, plus 0xFFF rounding
        u = u &+ mantOdd
        return sign | UInt16(truncatingIfNeeded: u >> 13)
    }

    /// float32 → bfloat16 bits, round to nearest even; NaN → 0x7FC0 (c10::BFloat16 scalar semantics,
    /// also what torch gives when casting a float64 tensor). Note: torch's *vectorized* float32→bfloat16 tensor
    /// cast (e.g. `t.to(torch.bfloat16)` for a float32 tensor, any size) turns every NaN into 0xFFFF; `encode`
    /// reproduces that (see `bfloat16Vectorized`).
    @inlinable @inline(__always)
    public static func bfloat16(_ x: Float) -> UInt16 {
        if x.isNaN { return 0x7FC0 }
        return bfloat16Round(x)
    }

    /// float32 → bfloat16 bits as torch's AVX2/AVX512 tensor copy kernel does it (NaN → 0xFFFF).
    @inlinable @inline(__always)
    public static func bfloat16Vectorized(_ x: Float) -> UInt16 {
        if x.isNaN { return 0xFFFF }
        return bfloat16Round(x)
    }

    @inlinable @inline(__always)
    static func bfloat16Round(_ x: Float) -> UInt16 {
        let u = x.bitPattern
        let bias: UInt32 = 0x7FFF &+ ((u >> 16) & 1)
        return UInt16(truncatingIfNeeded: (u &+ bias) >> 16)
    }

    /// binary16 bits → float32 (exact).
    @inlinable
    public static func float(fromFloat16 h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = UInt32(h >> 10) & 0x1F
        let mant = UInt32(h & 0x3FF)
        if exp == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
        if exp == 0 {
            let v = Float(mant) * 0x1p-24
            return sign != 0 ? -v : v
        }
        return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
    }

    /// bfloat16 bits → float32 (exact).
    @inlinable
    public static func float(fromBFloat16 b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }
}

/// Encode float32 values as `dtype` (float32/float16/bfloat16/float64) little-endian bytes into `out`
/// (`out.count == src.count * dtype.byteSize`), exactly like torch `tensor.to(dtype)` on a float32 tensor.
public func encode(_ src: UnsafeBufferPointer<Float>, as dtype: DType, into out: UnsafeMutableRawBufferPointer) {
    precondition(out.count == src.count * dtype.byteSize, "encode: output size mismatch")
    let n = src.count
    guard n > 0, let base = out.baseAddress, let s = src.baseAddress else { return }
    switch dtype {
    case .float32:
        for i in 0..<n { base.storeBytes(of: s[i].bitPattern.littleEndian, toByteOffset: 4 &* i, as: UInt32.self) }
    case .float64:
        for i in 0..<n { base.storeBytes(of: Double(s[i]).bitPattern.littleEndian, toByteOffset: 8 &* i, as: UInt64.self) }
    case .float16:
        for i in 0..<n { base.storeBytes(of: FloatBits.float16(s[i]).littleEndian, toByteOffset: 2 &* i, as: UInt16.self) }
    case .bfloat16:
        for i in 0..<n { base.storeBytes(of: FloatBits.bfloat16Vectorized(s[i]).littleEndian, toByteOffset: 2 &* i, as: UInt16.self) }
    case .int64, .int32, .bool:
        preconditionFailure("encode: \(dtype) is not a floating-point dtype")
    }
}

/// Encode float64 values as `dtype` little-endian bytes, exactly like torch `tensor.to(dtype)` on a float64 tensor:
/// float64 → float16/bfloat16 goes through float32 (double rounding, verified against torch 2.15:
/// 1 + 2⁻¹¹ + 2⁻⁴⁰ → 0x3C00, not 0x3C01). NaN → bfloat16: torch's copy kernel converts whole vectors of 16
/// (NaN → 0xFFFF) and the last `count % 16` elements with the scalar c10 conversion (NaN → 0x7FC0); reproduced here
/// for a single-threaded copy (tensors above torch's 32768-element grain may be split differently across threads).
public func encode(_ src: UnsafeBufferPointer<Double>, as dtype: DType, into out: UnsafeMutableRawBufferPointer) {
    precondition(out.count == src.count * dtype.byteSize, "encode: output size mismatch")
    let n = src.count
    guard n > 0, let base = out.baseAddress, let s = src.baseAddress else { return }
    switch dtype {
    case .float64:
        for i in 0..<n { base.storeBytes(of: s[i].bitPattern.littleEndian, toByteOffset: 8 &* i, as: UInt64.self) }
    case .float32:
        for i in 0..<n { base.storeBytes(of: Float(s[i]).bitPattern.littleEndian, toByteOffset: 4 &* i, as: UInt32.self) }
    case .float16:
        for i in 0..<n { base.storeBytes(of: FloatBits.float16(Float(s[i])).littleEndian, toByteOffset: 2 &* i, as: UInt16.self) }
    case .bfloat16:
        let vectorEnd = n - n % 16
        for i in 0..<vectorEnd { base.storeBytes(of: FloatBits.bfloat16Vectorized(Float(s[i])).littleEndian, toByteOffset: 2 &* i, as: UInt16.self) }
        for i in vectorEnd..<n { base.storeBytes(of: FloatBits.bfloat16(Float(s[i])).littleEndian, toByteOffset: 2 &* i, as: UInt16.self) }
    case .int64, .int32, .bool:
        preconditionFailure("encode: \(dtype) is not a floating-point dtype")
    }
}
