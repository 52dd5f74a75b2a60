/// SIMD8 version of `AVX2Math` (same operations lane by lane, so bit-identical; LLVM lowers it to AVX2 when the
/// target has it, otherwise to SSE pairs plus libm `fmaf` calls, still bit-exact).
extension AVX2Math {
    @usableFromInline typealias F8 = SIMD8<Float>
    @usableFromInline typealias I8 = SIMD8<Int32>
    @usableFromInline typealias U8 = SIMD8<UInt32>

    @inline(__always) @usableFromInline
    static func log256(_ x0: F8) -> F8 {
        let xm = x0.replacing(with: F8(repeating: fltMin), where: x0 .< fltMin)
        let bits = unsafeBitCast(xm, to: U8.self)
        var e = F8(I8(truncatingIfNeeded: bits &>> 23) &- 127) + 1
        let m = unsafeBitCast((bits & 0x807F_FFFF) | 0x3F00_0000, to: F8.self)
        let mask = m .< sqrthf
        let tmp = F8(repeating: 0).replacing(with: m, where: mask)
        e = e - F8(repeating: 0).replacing(with: 1, where: mask)
        let x = (m - 1) + tmp
        let z = x * x
        var y = F8(repeating: lp0)
        y = F8(repeating: lp1).addingProduct(y, x)
        y = F8(repeating: lp2).addingProduct(y, x)
        y = F8(repeating: lp3).addingProduct(y, x)
        y = F8(repeating: lp4).addingProduct(y, x)
        y = F8(repeating: lp5).addingProduct(y, x)
        y = F8(repeating: lp6).addingProduct(y, x)
        y = F8(repeating: lp7).addingProduct(y, x)
        y = F8(repeating: lp8).addingProduct(y, x)
        y = y * x
        y = (e * lq1).addingProduct(y, z)
        y = y - z * 0.5
        let s = x + y
        let r = s.addingProduct(e, F8(repeating: lq2))
        return r.replacing(with: .nan, where: x0 .<= 0)
    }

    /// (sin, cos) for θ ≥ 0 lanes.
    @inline(__always) @usableFromInline
    static func sincos256(_ theta: F8) -> (F8, F8) {
        var x = theta   // θ ≥ 0 here (2π·u, u ∈ [0, 1))
        var j = I8(x * fopi, rounding: .towardZero)
        j = (j &+ 1) & ~1
        let y = F8(j)
        let signSin = U8(repeating: 0).replacing(with: 0x8000_0000, where: (j & 4) .!= 0)
        let polyMask = (j & 2) .== 0
        let signCos = U8(repeating: 0).replacing(with: 0x8000_0000, where: ((j &- 2) & 4) .== 0)
        x = x.addingProduct(y, F8(repeating: minusDP1))
        x = x.addingProduct(y, F8(repeating: minusDP2))
        x = x.addingProduct(y, F8(repeating: minusDP3))
        let z = x * x
        var c = F8(repeating: cp1).addingProduct(F8(repeating: cp0), z)
        c = F8(repeating: cp2).addingProduct(c, z)
        c = c * z
        c = (-(z * 0.5)).addingProduct(c, z)
        c = c + 1
        var s = F8(repeating: sp1).addingProduct(F8(repeating: sp0), z)
        s = F8(repeating: sp2).addingProduct(s, z)
        s = s * z
        s = x.addingProduct(s, x)
        let zero = F8(repeating: 0)
        let ysin2 = zero.replacing(with: s, where: polyMask)
        let ysin1 = c.replacing(with: zero, where: polyMask)
        let sinv = ysin1 + ysin2
        let cosv = (c - ysin1) + (s - ysin2)
        let sOut = unsafeBitCast(unsafeBitCast(sinv, to: U8.self) ^ signSin, to: F8.self)
        let cOut = unsafeBitCast(unsafeBitCast(cosv, to: U8.self) ^ signCos, to: F8.self)
        return (sOut, cOut)
    }

    /// `normal_fill_16_AVX2` in place on 16 uniforms at `q` (unaligned).
    @inline(__always) @usableFromInline
    static func normalFill16(_ q: UnsafeMutablePointer<Float>, mean: F8, std: F8) {
        let raw = UnsafeMutableRawPointer(q)
        let u1 = 1 - raw.loadUnaligned(as: F8.self)
        let u2 = raw.loadUnaligned(fromByteOffset: 32, as: F8.self)
        let radius = (-2 * log256(u1)).squareRoot()
        let theta = twoPi * u2
        let (s, c) = sincos256(theta)
        raw.storeBytes(of: mean.addingProduct(radius * c, std), as: F8.self)
        raw.storeBytes(of: mean.addingProduct(radius * s, std), toByteOffset: 32, as: F8.self)
    }
}
