#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Exact PyTorch CPU (x86, AVX2 build) random kernels on contiguous buffers.
public enum Distributions {

    // MARK: uniform_

    /// `tensor.uniform_(from, to)` on a contiguous float32 tensor: `numel` draws,
    /// `fma(x, f32(to) − f32(from), f32(from))` with x = (r & 0xFFFFFF)·2⁻²⁴; a result equal to `to` becomes `from`.
    /// Runs on `ParallelFill.workers` threads for large buffers (same bytes, same final state: see `ParallelFill`).
    public static func uniform(_ out: UnsafeMutableBufferPointer<Float>, from: Double, to: Double, _ g: inout CPUGenerator) {
        let k = CPUKernels.active, f = Float(from), t = Float(to)
        ParallelFill.split(out, &g, align: 1, words: { k.uniformFromWords($0, f, t) },
                           last: { part, pg in k.uniform(part, f, t, &pg.engine) })
    }

    /// `uniform` on the calling thread.
    public static func uniformSerial(_ out: UnsafeMutableBufferPointer<Float>, from: Double, to: Double, _ g: inout CPUGenerator) {
        guard out.count > 0 else { return }
        CPUKernels.active.uniform(out, Float(from), Float(to), &g.engine)
    }

    /// `uniformSerial`'s loop (`CPUKernels`): `out.count` draws from `e`.
    @inlinable @inline(__always)
    static func uniformLoop<Build>(_ out: UnsafeMutableBufferPointer<Float>, from f: Float, to t: Float, _ e: inout MT19937,
                                   _: Build.Type) {
        guard let p = out.baseAddress else { return }
        let d = t - f
        e.forEachRun(out.count) { src, k, done in
            let o = p + done
            for i in 0..<k {  // vectorized by LLVM (temper, convert, vfmadd, compare/blend)
                o[i] = uniformValue(MT19937.unit24(untempered: src[i]), from: f, span: d, to: t)
            }
        }
    }

    /// `uniformLoop` on draws already in `out` as untempered words (one per element, `ParallelFill`'s parts).
    @inlinable @inline(__always)
    static func uniformFromWordsLoop<Build>(_ out: UnsafeMutableBufferPointer<Float>, from f: Float, to t: Float, _: Build.Type) {
        guard let p = out.baseAddress else { return }
        let d = t - f
        let raw = UnsafeMutableRawPointer(p)
        for i in 0..<out.count {  // vectorized like uniformLoop's loop
            let x = MT19937.unit24(untempered: raw.load(fromByteOffset: 4 &* i, as: UInt32.self))
            raw.storeBytes(of: uniformValue(x, from: f, span: d, to: t), toByteOffset: 4 &* i, as: Float.self)
        }
    }

    /// torch's float uniform_ of one unit draw x: fma(x, to − from, from), and `to` itself becomes `from`.
    @inlinable @inline(__always)
    static func uniformValue(_ x: Float, from f: Float, span d: Float, to t: Float) -> Float {
        let v = f.addingProduct(x, d)
        return v == t ? f : v
    }

    /// The scalar reference of `uniform` (float32): one draw at a time through `MT19937.generate`.
    public static func uniformReference(_ out: UnsafeMutableBufferPointer<Float>, from: Double, to: Double, _ g: inout CPUGenerator) {
        guard let p = out.baseAddress, out.count > 0 else { return }
        let f = Float(from), t = Float(to)
        let d = t - f
        g.engine.generate(out.count) { i, r in
            let x = Float(r & 0xFF_FFFF) * 0x1p-24
            let v = f.addingProduct(x, d)
            p[i] = v == t ? f : v
        }
    }

    /// `tensor.uniform_(from, to)` on a contiguous float64 tensor: one `random64()` per element,
    /// `fma(x, to − from, from)` with x = (r64 & (2⁵³−1))·2⁻⁵³; a result equal to `to` becomes `from`.
    public static func uniform(_ out: UnsafeMutableBufferPointer<Double>, from: Double, to: Double, _ g: inout CPUGenerator) {
        guard let p = out.baseAddress, out.count > 0 else { return }
        let d = to - from
        let n = out.count
        // Stage the 2·n draws in the output memory (raw accesses, no type punning), then convert in place.
        let raw = UnsafeMutableRawPointer(p)
        g.engine.generate(2 &* n) { i, r in raw.storeBytes(of: r, toByteOffset: 4 &* i, as: UInt32.self) }
        for i in 0..<n {
            let hi = UInt64(raw.load(fromByteOffset: 8 &* i, as: UInt32.self))
            let lo = UInt64(raw.load(fromByteOffset: 8 &* i &+ 4, as: UInt32.self))
            let x = Double(((hi << 32) | lo) & 0x1F_FFFF_FFFF_FFFF) * 0x1p-53
            let v = from.addingProduct(x, d)
            p[i] = v == to ? from : v
        }
    }

    @inline(__always)
    static func uniform53(_ g: inout CPUGenerator) -> Double {
        Double(g.random64() & 0x1F_FFFF_FFFF_FFFF) * 0x1p-53
    }

    // MARK: normal_ — per-element path (numel < 16)

    /// One `at::normal_distribution<double>` sample (before scaling), using and refilling the cached spare.
    @inline(__always)
    static func standardNormalDouble(_ g: inout CPUGenerator) -> Double {
        if let s = g.spare {
            g.spare = nil
            return s
        }
        let u1 = uniform53(&g)
        let u2 = uniform53(&g)
        let r = (-2.0 * log1p(-u2)).squareRoot()
        let theta = 2.0 * Double.pi * u1
        g.spare = r * sin(theta)
        return r * cos(theta)
    }

    /// The per-element (numel < 16 or non-contiguous) path, in double, for `count` elements.
    @inline(__always)
    static func normalPerElement(_ count: Int, mean: Double, std: Double, _ g: inout CPUGenerator, _ store: (Int, Double) -> Void) {
        for i in 0..<count {
            store(i, mean.addingProduct(standardNormalDouble(&g), std))
        }
    }

    // MARK: normal_ — float32

    /// `tensor.normal_(mean, std)` on a contiguous float32 tensor. numel ≥ 16: the AVX2 `normal_fill` path
    /// (numel + (numel % 16 ≠ 0 ? 16 : 0) draws, spare untouched); numel < 16: double Box–Muller with the spare.
    /// Large buffers run on `ParallelFill.workers` threads, split on blocks of 16 (same bytes, same final state).
    public static func normal(_ out: UnsafeMutableBufferPointer<Float>, mean: Double, std: Double, _ g: inout CPUGenerator) {
        if out.count < 16 { normalSerial(out, mean: mean, std: std, &g); return }
        // Every part starts on a block of 16 and only the last one holds the numel % 16 tail, so each part is
        // torch's kernel on it: numel(part) draws (+ 16 for the tail, last part only).
        let k = CPUKernels.active, mf = Float(mean), sf = Float(std)
        ParallelFill.split(out, &g, align: 16, words: { k.normalBlocksFromWords($0, mf, sf) },
                           last: { part, pg in normalSerial(part, mean: mean, std: std, &pg) })
    }

    /// `normal` on the calling thread.
    public static func normalSerial(_ out: UnsafeMutableBufferPointer<Float>, mean: Double, std: Double, _ g: inout CPUGenerator) {
        guard let p = out.baseAddress, out.count > 0 else { return }
        let n = out.count
        if n < 16 {
            normalPerElement(n, mean: mean, std: std, &g) { i, v in p[i] = Float(v) }
            return
        }
        let mf = Float(mean), sf = Float(std)
        CPUKernels.active.normalBlocks(UnsafeMutableBufferPointer(start: p, count: n / 16 * 16), mf, sf, &g.engine)
        if n % 16 != 0 {
            g.engine.skipSequential(n % 16)
            let q = p + (n - 16)
            g.engine.fillUnit24(q, 16)
            AVX2Math.normalFill16Lanes(q, mean: mf, std: sf)
        }
    }

    /// The full blocks of 16 of torch's float32 fill (`out.count` a multiple of 16): `out.count` draws from `e`
    /// (`CPUKernels`' loop).
    @inlinable @inline(__always)
    static func normalBlocksLoop<Build>(_ out: UnsafeMutableBufferPointer<Float>, mean mf: Float, std sf: Float, _ e: inout MT19937,
                                        _: Build.Type) {
        guard let p = out.baseAddress, out.count > 0 else { return }
        // torch: draw all numel uniforms into the output, transform each full block of 16 in place, then (if numel % 16 ≠ 0)
        // draw 16 fresh uniforms into the last 16 slots and transform them. Here the same draws, in the same order,
        // go tile by tile (L1-resident) and are transformed right away; the numel % 16 uniforms the tail overwrites
        // are skipped, not converted.
        let full = out.count / 16 * 16
        var i = 0
        while i < full {
            let m = min(normalTile, full &- i)
            e.fillUnit24(p + i, m)
            transformTile(p + i, m, mean: mf, std: sf)
            i &+= m
        }
    }

    /// `normalBlocksLoop` on draws already in `out` as untempered words (one per element, `ParallelFill`'s parts;
    /// `out.count` a multiple of 16).
    @inlinable @inline(__always)
    static func normalBlocksFromWordsLoop<Build>(_ out: UnsafeMutableBufferPointer<Float>, mean mf: Float, std sf: Float,
                                                 _: Build.Type) {
        guard let p = out.baseAddress else { return }
        let raw = UnsafeMutableRawPointer(p)
        var i = 0
        while i < out.count {
            let m = min(normalTile, out.count &- i)
            for t in i..<(i &+ m) {  // fillUnit24's conversion, in place
                let w = raw.load(fromByteOffset: 4 &* t, as: UInt32.self)
                raw.storeBytes(of: MT19937.unit24(untempered: w), toByteOffset: 4 &* t, as: Float.self)
            }
            transformTile(p + i, m, mean: mf, std: sf)
            i &+= m
        }
    }

    /// torch's normal_fill_16 on each block of 16 of `m` uniforms at `p` (m a multiple of 16), in place.
    @inlinable @inline(__always)
    static func transformTile(_ p: UnsafeMutablePointer<Float>, _ m: Int, mean mf: Float, std sf: Float) {
        var b = 0
        while b &+ 32 <= m {
            AVX2Math.normalFill32Lanes(p + b, mean: mf, std: sf)
            b &+= 32
        }
        if b < m { AVX2Math.normalFill16Lanes(p + b, mean: mf, std: sf) }
    }

    /// Elements per tile of the fast float32 normal_ (a multiple of 16; 16 KiB stays in L1).
    @inlinable static var normalTile: Int { 4096 }

    /// The reference of `normal` (float32): torch's order literally (all draws through `MT19937.generate`, then
    /// the blocks, then the tail).
    public static func normalReference(_ out: UnsafeMutableBufferPointer<Float>, mean: Double, std: Double, _ g: inout CPUGenerator) {
        guard let p = out.baseAddress, out.count > 0 else { return }
        let n = out.count
        if n < 16 {
            normalPerElement(n, mean: mean, std: std, &g) { i, v in p[i] = Float(v) }
            return
        }
        drawUniform24(p, n, &g)
        let mf = Float(mean), sf = Float(std)
        var i = 0
        while i &+ 16 <= n {
            AVX2Math.normalFill16Lanes(p + i, mean: mf, std: sf)
            i &+= 16
        }
        if n % 16 != 0 {
            let q = p + (n - 16)
            drawUniform24(q, 16, &g)
            AVX2Math.normalFill16Lanes(q, mean: mf, std: sf)
        }
    }

    @inline(__always)
    static func drawUniform24(_ q: UnsafeMutablePointer<Float>, _ count: Int, _ g: inout CPUGenerator) {
        g.engine.generate(count) { i, r in q[i] = Float(r & 0xFF_FFFF) * 0x1p-24 }
    }

    // MARK: normal_ — float64

    /// `tensor.normal_(mean, std)` on a contiguous float64 tensor. numel ≥ 16: `normal_fill` with `random64()`
    /// uniforms and the double scalar transform (glibc log/cos/sin); numel < 16: double Box–Muller with the spare.
    public static func normal(_ out: UnsafeMutableBufferPointer<Double>, mean: Double, std: Double, _ g: inout CPUGenerator) {
        guard let p = out.baseAddress, out.count > 0 else { return }
        let n = out.count
        if n < 16 {
            normalPerElement(n, mean: mean, std: std, &g) { i, v in p[i] = v }
            return
        }
        let blocks = n / 16
        for b in 0..<blocks {
            let q = p + b &* 16
            for k in 0..<16 { q[k] = uniform53(&g) }
            normalFill16Double(q, mean: mean, std: std)
        }
        let rem = n % 16
        if rem != 0 {
            g.engine.skip(2 &* rem)
            let q = p + (n - 16)
            for k in 0..<16 { q[k] = uniform53(&g) }
            normalFill16Double(q, mean: mean, std: std)
        }
    }

    @inline(__always)
    static func normalFill16Double(_ q: UnsafeMutablePointer<Double>, mean: Double, std: Double) {
        for j in 0..<8 {
            let u1 = 1 - q[j]
            let u2 = q[j + 8]
            let radius = (-2 * log(u1)).squareRoot()
            let theta = 2.0 * Double.pi * u2
            q[j] = mean.addingProduct(radius * cos(theta), std)
            q[j + 8] = mean.addingProduct(radius * sin(theta), std)
        }
    }

    // MARK: draw accounting (for skipping)

    /// 32-bit draws `uniform_` makes on `count` elements of a float64 (`wide`) or narrower tensor.
    public static func uniformDraws(count: Int, wide: Bool) -> Int { wide ? 2 &* count : count }

    /// Advance `g` exactly as `normal(count elements, …)` would (draws and spare), computing only what
    /// the spare needs. `wide`: float64 tensor.
    public static func advanceNormal(count: Int, wide: Bool, _ g: inout CPUGenerator) {
        guard count > 0 else { return }
        if count >= 16 {
            let draws = count + (count % 16 != 0 ? 16 : 0)
            g.skip(wide ? 2 &* draws : draws)
            return
        }
        var k = count
        if g.spare != nil { g.spare = nil; k -= 1 }
        if k == 0 { return }
        let pairs = (k + 1) / 2
        g.skip(4 &* (pairs - 1))
        if k % 2 == 0 {
            g.skip(4)
        } else {
            _ = standardNormalDouble(&g)  // leaves the spare exactly as the real call does
        }
    }
}
