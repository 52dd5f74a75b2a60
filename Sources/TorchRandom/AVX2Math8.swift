/// Branch-free lane-loop form of `AVX2Math.normalFill16` (same float operations lane by lane, hence bit-identical),
/// written so LLVM can vectorize it (8 lanes = one AVX2 register when built for an AVX2/FMA target).
extension AVX2Math {
    @inlinable @inline(__always)
    static func normalFill16Lanes(_ q: UnsafeMutablePointer<Float>, mean: Float, std: Float) {
        var u1 = (Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0))
        var u2 = u1, outC = u1, outS = u1
        withUnsafeMutableBytes(of: &u1) { $0.copyMemory(from: UnsafeRawBufferPointer(start: q, count: 32)) }
        withUnsafeMutableBytes(of: &u2) { $0.copyMemory(from: UnsafeRawBufferPointer(start: q + 8, count: 32)) }
        withUnsafeBytes(of: u1) { a in
            withUnsafeBytes(of: u2) { b in
                withUnsafeMutableBytes(of: &outC) { oc in
                    withUnsafeMutableBytes(of: &outS) { os in
                        let pa = a.baseAddress!.assumingMemoryBound(to: Float.self)
                        let pb = b.baseAddress!.assumingMemoryBound(to: Float.self)
                        let pc = oc.baseAddress!.assumingMemoryBound(to: Float.self)
                        let ps = os.baseAddress!.assumingMemoryBound(to: Float.self)
                        for j in 0..<8 {
                            let (c, s) = lane(pa[j], pb[j], mean, std)
                            pc[j] = c
                            ps[j] = s
                        }
                    }
                }
            }
        }
        withUnsafeBytes(of: outC) { UnsafeMutableRawPointer(q).copyMemory(from: $0.baseAddress!, byteCount: 32) }
        withUnsafeBytes(of: outS) { UnsafeMutableRawPointer(q + 8).copyMemory(from: $0.baseAddress!, byteCount: 32) }
    }

    /// One lane: uniform pair → (out[j], out[j+8]).
    @inlinable @inline(__always)
    static func lane(_ ua: Float, _ ub: Float, _ mean: Float, _ std: Float) -> (Float, Float) {
        // log256(1 − ua)
        let x0 = 1 - ua
        let xm = x0 < fltMin ? fltMin : x0
        let bits = xm.bitPattern
        var e = Float(Int32(bitPattern: bits >> 23) &- 127) + 1
        let m = Float(bitPattern: (bits & 0x807F_FFFF) | 0x3F00_0000)
        let lt = m < sqrthf
        e = e - (lt ? 1 : 0)
        let x = (m - 1) + (lt ? m : 0)
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
        var lg = (x + y).addingProduct(e, lq2)
        lg = x0 <= 0 ? .nan : lg
        let rr = -2 * lg
        // sqrt of |rr| with rr's sign restored (rr ≥ 0 or −0): lets LLVM emit vsqrtps (no errno-guarded libm call).
        let radius = Float(signOf: rr, magnitudeOf: rr.magnitude.squareRoot())
        // sincos256(2π·ub), θ ∈ [0, 2π)
        let theta = twoPi * ub
        let jf = (theta * fopi).rounded(.towardZero)           // exact small integer in [0, 8]
        var j = (jf + 0x1p23).bitPattern & 0x7F_FFFF            // = cvttps2dq(θ·4/π) for this range
        j = (j &+ 1) & ~1
        let yj = Float(Int32(bitPattern: j))
        var r = theta.addingProduct(yj, minusDP1)
        r = r.addingProduct(yj, minusDP2)
        r = r.addingProduct(yj, minusDP3)
        let zz = r * r
        var c = cp1.addingProduct(cp0, zz)
        c = cp2.addingProduct(c, zz)
        c = c * zz
        c = (-(zz * 0.5)).addingProduct(c, zz)
        c = c + 1
        var s = sp1.addingProduct(sp0, zz)
        s = sp2.addingProduct(s, zz)
        s = s * zz
        s = r.addingProduct(s, r)
        let pm = (j & 2) == 0
        let ysin2: Float = pm ? s : 0
        let ysin1: Float = pm ? 0 : c
        let sinv = ysin1 + ysin2
        let cosv = (c - ysin1) + (s - ysin2)
        let sinF = Float(bitPattern: sinv.bitPattern ^ ((j & 4) << 29))
        let cosF = Float(bitPattern: cosv.bitPattern ^ ((~(j &- 2) & 4) << 29))
        return (mean.addingProduct(radius * cosF, std), mean.addingProduct(radius * sinF, std))
    }
}

extension AVX2Math {
    /// Two consecutive blocks of 16 (`q[0..<32]`) at once: the same lane function on 16 lanes, so the two blocks'
    /// dependency chains interleave (more instruction-level parallelism than one block at a time). Bit-identical to
    /// two `normalFill16Lanes` calls.
    @inlinable @inline(__always)
    static func normalFill32Lanes(_ q: UnsafeMutablePointer<Float>, mean: Float, std: Float) {
        typealias T16 = (Float, Float, Float, Float, Float, Float, Float, Float, Float, Float, Float, Float, Float, Float, Float, Float)
        var u1: T16 = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var u2 = u1, outC = u1, outS = u1
        withUnsafeMutableBytes(of: &u1) {
            $0.baseAddress!.copyMemory(from: q, byteCount: 32)
            ($0.baseAddress! + 32).copyMemory(from: q + 16, byteCount: 32)
        }
        withUnsafeMutableBytes(of: &u2) {
            $0.baseAddress!.copyMemory(from: q + 8, byteCount: 32)
            ($0.baseAddress! + 32).copyMemory(from: q + 24, byteCount: 32)
        }
        withUnsafeBytes(of: u1) { a in
            withUnsafeBytes(of: u2) { b in
                withUnsafeMutableBytes(of: &outC) { oc in
                    withUnsafeMutableBytes(of: &outS) { os in
                        let pa = a.baseAddress!.assumingMemoryBound(to: Float.self)
                        let pb = b.baseAddress!.assumingMemoryBound(to: Float.self)
                        let pc = oc.baseAddress!.assumingMemoryBound(to: Float.self)
                        let ps = os.baseAddress!.assumingMemoryBound(to: Float.self)
                        for j in 0..<16 {
                            let (c, s) = lane(pa[j], pb[j], mean, std)
                            pc[j] = c
                            ps[j] = s
                        }
                    }
                }
            }
        }
        withUnsafeBytes(of: outC) {
            UnsafeMutableRawPointer(q).copyMemory(from: $0.baseAddress!, byteCount: 32)
            UnsafeMutableRawPointer(q + 16).copyMemory(from: $0.baseAddress! + 32, byteCount: 32)
        }
        withUnsafeBytes(of: outS) {
            UnsafeMutableRawPointer(q + 8).copyMemory(from: $0.baseAddress!, byteCount: 32)
            UnsafeMutableRawPointer(q + 24).copyMemory(from: $0.baseAddress! + 32, byteCount: 32)
        }
    }
}
