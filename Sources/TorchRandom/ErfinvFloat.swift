/// Fast erfinv for float32 arguments (MMEngine `trunc_normal_` on float32 tensors).
///
/// Giles (2010) double-precision polynomials (the two branches a float argument can reach, plus the third for
/// completeness) evaluated in double with FMA, no Newton/Halley steps, on a branch-free natural log (fdlibm/musl
/// `log` reduction and coefficients, < 1 ulp), sixteen lanes at a time (four AVX2 registers of doubles: independent FMA chains). The double result is within ~1e-15 relative
/// of erfinv, so rounded to Float it equals the correctly rounded float — the same float as
/// `Float(erfinv(Double(y)))` (the accurate reference in Erfinv.swift) for every input of the 2⁻²³ grid that
/// `uniform_(-1, 1)` produces and for all but a handful per ten million of arbitrary floats (see ErfinvFloatTests).
/// Every lane is computed the same way, so a value does not depend on its position in the buffer.
///
/// `erfinv` and `truncNormalTransform` then apply `ErfinvMKL`'s exception table, so they return exactly torch's
/// float32 `erfinv_` on x86 MKL builds (`vmsErfInv`, not always correctly rounded) for every float;
/// `correctlyRounded` is the float erfinv without that step.
public enum ErfinvFloat {
    @usableFromInline typealias V = SIMD16<Double>
    @usableFromInline typealias M = SIMDMask<SIMD16<Int64>>

    /// torch's float32 erfinv (MKL `vmsErfInv` HA on `mkl`'s code path): ±1 → ±inf, |y| > 1 or NaN → NaN, ±0 → ±0.
    @inlinable
    public static func erfinv(_ y: Float, mkl: ErfinvMKL.Path = .sse4_2) -> Float {
        lanes(SIMD16<Float>(repeating: y), mkl: mkl)[0]
    }

    /// erfinv(y) correctly rounded to float (no MKL correction): ±1 → ±inf, |y| > 1 or NaN → NaN, ±0 → ±0.
    @inlinable
    public static func correctlyRounded(_ y: Float) -> Float {
        lanes(SIMD16<Float>(repeating: y), mkl: nil)[0]
    }

    /// MMEngine's float32 transform after `uniform_(l, u)`: `x.erfinv_(); x.mul_(scale); x.add_(mean); x.clamp_(lo, hi)`
    /// (each step rounded to float, clamp propagating NaN), in place on `count` floats; erfinv as MKL's `mkl` path
    /// computes it.
    public static func truncNormalTransform(_ p: UnsafeMutablePointer<Float>, count: Int, scale: Float, mean: Float,
                                            lo: Float, hi: Float, mkl: ErfinvMKL.Path = .sse4_2) {
        var i = 0
        while i &+ 16 <= count {
            let raw = UnsafeMutableRawPointer(p + i)
            let y = raw.loadUnaligned(as: SIMD16<Float>.self)
            raw.storeBytes(of: finish(lanes(y, mkl: mkl), scale: scale, mean: mean, lo: lo, hi: hi), as: SIMD16<Float>.self)
            i &+= 16
        }
        if i < count {
            var y = SIMD16<Float>(repeating: 0)
            for k in 0..<(count &- i) { y[k] = p[i &+ k] }
            let r = finish(lanes(y, mkl: mkl), scale: scale, mean: mean, lo: lo, hi: hi)
            for k in 0..<(count &- i) { p[i &+ k] = r[k] }
        }
    }

    @inline(__always) @usableFromInline
    static func finish(_ e: SIMD16<Float>, scale: Float, mean: Float, lo: Float, hi: Float) -> SIMD16<Float> {
        var v = e * scale
        v = v + mean
        // torch.clamp_: NaN stays NaN, else min(max(v, lo), hi)
        var c = v.replacing(with: lo, where: v .< lo)
        c = c.replacing(with: hi, where: c .> hi)
        return c.replacing(with: v, where: v .!= v)
    }

    /// erfinv of sixteen floats: torch/MKL's floats on the `mkl` code path, or with `mkl: nil` the correctly
    /// rounded ones.
    @inline(__always) @usableFromInline
    static func lanes(_ yf: SIMD16<Float>, mkl: ErfinvMKL.Path? = .sse4_2) -> SIMD16<Float> {
        let y = V(yf)
        let q = (1 - y) * (1 + y)  // 1 ∓ y exact for a float y; one rounding
        let w = -log(q)
        // Central branch (w < 6.25, i.e. |y| ≲ 0.99903): Giles' degree-22 polynomial in w − 3.125.
        let wc = w - 3.125
        // Horner in two independent halves, p = lo(wc) + wc¹¹·hi(wc), to halve the FMA dependency chain.
        var h = V(repeating: -3.64441206401782e-21)
        h = fma(h, wc, -1.6850591381820166e-19)
        h = fma(h, wc, 1.28584807152564e-18)
        h = fma(h, wc, 1.1157877678025181e-17)
        h = fma(h, wc, -1.333171662854621e-16)
        h = fma(h, wc, 2.0972767875968562e-17)
        h = fma(h, wc, 6.637638134358324e-15)
        h = fma(h, wc, -4.054566272975207e-14)
        h = fma(h, wc, -8.151934197605472e-14)
        h = fma(h, wc, 2.6335093153082323e-12)
        h = fma(h, wc, -1.2975133253453532e-11)
        h = fma(h, wc, -5.415412054294628e-11)
        var l = V(repeating: 1.0512122733215323e-9)
        l = fma(l, wc, -4.112633980346984e-9)
        l = fma(l, wc, -2.9070369957882005e-8)
        l = fma(l, wc, 4.2347877827932404e-7)
        l = fma(l, wc, -1.3654692000834679e-6)
        l = fma(l, wc, -1.3882523362786469e-5)
        l = fma(l, wc, 1.8673420803405714e-4)
        l = fma(l, wc, -7.40702534166267e-4)
        l = fma(l, wc, -0.006033670871430149)
        l = fma(l, wc, 0.24015818242558962)
        l = fma(l, wc, 1.6536545626831027)
        let w2 = wc * wc, w4 = w2 * w2, w8 = w4 * w4
        var p = l.addingProduct(h, w8 * (w2 * wc))
        let central = w .< 6.25
        if !all(central) {  // rare: 1 − |y| ≲ 1e-3, or a special value
            p = p.replacing(with: tails(w), where: .!central)
        }
        let d = p * y
        var r = SIMD16<Float>(d)
        if let mkl { ErfinvMKL.apply(&r, y: yf, d: d, path: mkl) }
        let ay = yf.replacing(with: -yf, where: yf .< 0)
        let ordinary = ay .< 1
        if !all(ordinary) {
            // |y| = 1 → ±inf (erfinv(±1)); |y| > 1 or NaN → NaN
            let one = ay .== 1
            r = r.replacing(with: SIMD16<Float>(repeating: .infinity) * yf, where: one)
            r = r.replacing(with: .nan, where: .!ordinary .& .!one)
        }
        return r
    }

    /// Giles' two tail branches (6.25 ≤ w < 16, w ≥ 16); only the lanes where w ≥ 6.25 are used.
    @inline(never) @usableFromInline
    static func tails(_ w: V) -> V {
        let s = w.squareRoot()
        let a = s - 3.25
        var p = V(repeating: 2.2137376921775787e-9)
        p = fma(p, a, 9.075656193888539e-8)
        p = fma(p, a, -2.7517406297064545e-7)
        p = fma(p, a, 1.8239629214389228e-8)
        p = fma(p, a, 1.5027403968909828e-6)
        p = fma(p, a, -4.013867526981546e-6)
        p = fma(p, a, 2.9234449089955446e-6)
        p = fma(p, a, 1.2475304481671779e-5)
        p = fma(p, a, -4.7318229009055734e-5)
        p = fma(p, a, 6.828485145957318e-5)
        p = fma(p, a, 2.4031110387097894e-5)
        p = fma(p, a, -3.550375203628475e-4)
        p = fma(p, a, 9.532893797373805e-4)
        p = fma(p, a, -0.0016882755560235047)
        p = fma(p, a, 0.002491442096107851)
        p = fma(p, a, -0.003751208507569241)
        p = fma(p, a, 0.005370914553590064)
        p = fma(p, a, 1.0052589676941592)
        p = fma(p, a, 3.0838856104922208)
        let b = s - 5
        var t = V(repeating: -2.7109920616438573e-11)
        t = fma(t, b, -2.555641816996525e-10)
        t = fma(t, b, 1.5076572693500548e-9)
        t = fma(t, b, -3.789465440126737e-9)
        t = fma(t, b, 7.61570120807834e-9)
        t = fma(t, b, -1.496002662714924e-8)
        t = fma(t, b, 2.914795345090108e-8)
        t = fma(t, b, -6.771199775845234e-8)
        t = fma(t, b, 2.2900482228026655e-7)
        t = fma(t, b, -9.9298272942317e-7)
        t = fma(t, b, 4.526062597223154e-6)
        t = fma(t, b, -1.968177810553167e-5)
        t = fma(t, b, 7.599527703001776e-5)
        t = fma(t, b, -2.1503011930044477e-4)
        t = fma(t, b, -1.3871931833623122e-4)
        t = fma(t, b, 1.0103004648645344)
        t = fma(t, b, 4.849906401408584)
        return p.replacing(with: t, where: w .>= 16)
    }

    @inline(__always) @usableFromInline
    static func fma(_ a: V, _ b: V, _ c: Double) -> V { V(repeating: c).addingProduct(a, b) }

    /// Natural log of positive normal doubles (fdlibm `__ieee754_log` as in musl, branch-free: < 1 ulp).
    /// Zero, negative, subnormal, inf and NaN lanes give meaningless finite-or-not values (callers mask them).
    @inline(__always) @usableFromInline
    static func log(_ x: V) -> V {
        let bits = unsafeBitCast(x, to: SIMD16<UInt64>.self)
        // Scale into [√½, √2): u's exponent field is k + 1023.
        let u = bits &+ (0x3FF0_0000_0000_0000 &- 0x3FE6_A09E_667F_3BCD)
        let m = unsafeBitCast((u & 0x000F_FFFF_FFFF_FFFF) &+ 0x3FE6_A09E_667F_3BCD, to: V.self)
        // k as a double without an int64→double conversion (none in AVX2): 2⁵² + (k + 1023), minus 2⁵² + 1023
        let dk = unsafeBitCast((u &>> 52) | 0x4330_0000_0000_0000, to: V.self) - (0x1p52 + 1023)
        let f = m - 1
        let hfsq = 0.5 * f * f
        let s = f / (2 + f)
        let z = s * s
        let w = z * z
        let t1 = w * fma(w, fma(w, V(repeating: 1.531383769920937332e-01), 2.222219843214978396e-01), 3.999999999940941908e-01)
        let t2 = z * fma(w, fma(w, fma(w, V(repeating: 1.479819860511658591e-01), 1.818357216161805012e-01),
                                2.857142874366239149e-01), 6.666666666666735130e-01)
        let r = t2 + t1
        let ln2Hi = 6.93147180369123816490e-01, ln2Lo = 1.90821492927058770002e-10
        return s * (hfsq + r) + dk * ln2Lo - hfsq + f + dk * ln2Hi
    }
}
