/// Scalar, bit-exact emulation of ATen's AVX2 `normal_fill_16_AVX2` (avx_mathfun `log256_ps` / `sincos256_ps`
/// with GCC's FMA contraction), float32 round-to-nearest-even throughout. Inlinable, constants included, so
/// `CPUKernels.build` compiles these lanes for the instruction set of the module it is inlined into.
@usableFromInline
enum AVX2Math {
    // log
    @inlinable static var sqrthf: Float { Float(bitPattern: 0x3F35_04F3) }
    @inlinable static var lp0: Float { Float(bitPattern: 0x3D90_21BB) }
    @inlinable static var lp1: Float { Float(bitPattern: 0xBDEB_D1B8) }
    @inlinable static var lp2: Float { Float(bitPattern: 0x3DEF_251A) }
    @inlinable static var lp3: Float { Float(bitPattern: 0xBDFE_5D4F) }
    @inlinable static var lp4: Float { Float(bitPattern: 0x3E11_E9BF) }
    @inlinable static var lp5: Float { Float(bitPattern: 0xBE2A_AE50) }
    @inlinable static var lp6: Float { Float(bitPattern: 0x3E4C_CEAC) }
    @inlinable static var lp7: Float { Float(bitPattern: 0xBE7F_FFFC) }
    @inlinable static var lp8: Float { Float(bitPattern: 0x3EAA_AAAA) }
    @inlinable static var lq1: Float { Float(bitPattern: 0xB95E_8083) }
    @inlinable static var lq2: Float { Float(bitPattern: 0x3F31_8000) }
    // sincos
    @inlinable static var minusDP1: Float { Float(bitPattern: 0xBF49_0000) }
    @inlinable static var minusDP2: Float { Float(bitPattern: 0xB97D_A000) }
    @inlinable static var minusDP3: Float { Float(bitPattern: 0xB322_2169) }
    @inlinable static var sp0: Float { Float(bitPattern: 0xB94C_A1F9) }
    @inlinable static var sp1: Float { Float(bitPattern: 0x3C08_839E) }
    @inlinable static var sp2: Float { Float(bitPattern: 0xBE2A_AAA3) }
    @inlinable static var cp0: Float { Float(bitPattern: 0x37CC_F5CE) }
    @inlinable static var cp1: Float { Float(bitPattern: 0xBAB6_061A) }
    @inlinable static var cp2: Float { Float(bitPattern: 0x3D2A_AAA5) }
    @inlinable static var fopi: Float { Float(bitPattern: 0x3FA2_F983) }
    @inlinable static var twoPi: Float { Float(bitPattern: 0x40C9_0FDB) }
    @inlinable static var fltMin: Float { Float(bitPattern: 0x0080_0000) }

    /// avx_mathfun `log256_ps` for x > 0.
    @inline(__always) @usableFromInline
    static func log256(_ x0: Float) -> Float {
        let xm = x0 < fltMin ? fltMin : x0   // _mm256_max_ps(x, min_norm_pos)
        let bits = xm.bitPattern
        var e = Float(Int32(bitPattern: bits >> 23) &- 127) + 1
        let m = Float(bitPattern: (bits & 0x807F_FFFF) | 0x3F00_0000)
        var x: Float
        if m < sqrthf {
            e = e - 1
            x = (m - 1) + m
        } else {
            x = (m - 1) + 0
        }
        let z = x * x
        var y = lp0
        y = lp1.addingProduct(y, x)
        y = lp2.addingProduct(y, x)
        y = lp3.addingProduct(y, x)
        y = lp4.addingProduct(y, x)
        y = lp5.addingProduct(y, x)
        y = lp6.addingProduct(y, x)
        y = lp7.addingProduct(y, x)
        y = lp8.addingProduct(y, x)
        y = y * x
        y = (e * lq1).addingProduct(y, z)
        y = y - z * 0.5
        let s = x + y
        var r = s.addingProduct(e, lq2)
        if x0 <= 0 { r = .nan }
        return r
    }

    /// avx_mathfun `sincos256_ps` for θ ≥ 0 (as used by the normal kernel). Returns (sin, cos).
    @inline(__always) @usableFromInline
    static func sincos256(_ theta: Float) -> (Float, Float) {
        var x = abs(theta)
        var j = Int32(x * fopi)          // cvttps2dq (non-negative, in range)
        j = (j &+ 1) & ~1
        let y = Float(j)
        let swapSin = (j & 4) != 0
        let polyMask = (j & 2) == 0
        let swapCos = ((j &- 2) & 4) == 0
        x = x.addingProduct(y, minusDP1)
        x = x.addingProduct(y, minusDP2)
        x = x.addingProduct(y, minusDP3)
        let z = x * x
        var c = cp1.addingProduct(cp0, z)
        c = cp2.addingProduct(c, z)
        c = c * z
        c = (-(z * 0.5)).addingProduct(c, z)
        c = c + 1
        var s = sp1.addingProduct(sp0, z)
        s = sp2.addingProduct(s, z)
        s = s * z
        s = x.addingProduct(s, x)
        var sinv: Float, cosv: Float
        if polyMask {
            sinv = 0 + s
            cosv = c + 0
        } else {
            sinv = c + 0
            cosv = 0 + s
        }
        if swapSin { sinv = -sinv }
        if swapCos { cosv = -cosv }
        if theta.sign == .minus { sinv = -sinv }
        return (sinv, cosv)
    }

    /// `normal_fill_16_AVX2` in place on 16 uniforms.
    @inline(__always) @usableFromInline
    static func normalFill16(_ q: UnsafeMutablePointer<Float>, mean: Float, std: Float) {
        for j in 0..<8 {
            let u1 = 1 - q[j]
            let u2 = q[j + 8]
            let radius = (-2 * log256(u1)).squareRoot()
            let theta = twoPi * u2
            let (s, c) = sincos256(theta)
            q[j] = mean.addingProduct(radius * c, std)
            q[j + 8] = mean.addingProduct(radius * s, std)
        }
    }
}
