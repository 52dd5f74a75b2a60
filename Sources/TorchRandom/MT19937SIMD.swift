/// 8-wide mt19937: the block twist and the tempering on `SIMD8<UInt32>` (one AVX2 register), and bulk
/// producers that write converted draws straight into an output buffer. Same words as `next()`/`generate`.
extension MT19937 {
    @usableFromInline typealias U8 = SIMD8<UInt32>

    /// The in-place block twist, 8 words at a time. Word i needs s[i+1] (old) and s[i+397] (old, i < 227) or
    /// s[i−227] (already new, i ≥ 227); 8-word vectors never straddle those regions except around 224..<227 and
    /// 619..<624, which run scalar.
    @inlinable @inline(__always)
    static func twist8(_ s: UnsafeMutablePointer<UInt32>) {
        let raw = UnsafeMutableRawPointer(s)
        @inline(__always) func mix(_ a: U8, _ b: U8, _ c: U8) -> U8 {
            let y = (a & 0x8000_0000) | (b & 0x7FFF_FFFF)
            return c ^ (y &>> 1) ^ ((U8(repeating: 0) &- (y & 1)) & 0x9908_B0DF)
        }
        @inline(__always) func at(_ i: Int) -> U8 { raw.loadUnaligned(fromByteOffset: 4 &* i, as: U8.self) }
        @inline(__always) func mix1(_ a: UInt32, _ b: UInt32, _ c: UInt32) -> UInt32 {
            let y = (a & 0x8000_0000) | (b & 0x7FFF_FFFF)
            return c ^ (y >> 1) ^ ((y & 1) &* 0x9908_B0DF)
        }
        var i = 0
        while i < 224 {
            raw.storeBytes(of: mix(at(i), at(i &+ 1), at(i &+ 397)), toByteOffset: 4 &* i, as: U8.self)
            i &+= 8
        }
        while i < 227 { s[i] = mix1(s[i], s[i &+ 1], s[i &+ 397]); i &+= 1 }
        while i < 619 {
            raw.storeBytes(of: mix(at(i), at(i &+ 1), at(i &- 227)), toByteOffset: 4 &* i, as: U8.self)
            i &+= 8
        }
        while i < 623 { s[i] = mix1(s[i], s[i &+ 1], s[i &- 227]); i &+= 1 }
        s[623] = mix1(s[623], s[0], s[396])
    }

    /// `times` twists of the state (`CPUKernels.build`, specialized for `Build`).
    @inlinable @inline(__always)
    static func twist8<Build>(_ s: UnsafeMutablePointer<UInt32>, times: Int, _: Build.Type) {
        for _ in 0..<times { twist8(s) }
    }

    @inlinable @inline(__always)
    static func temper8(_ x: U8) -> U8 {
        var y = x
        y ^= y &>> 11
        y ^= (y &<< 7) & 0x9D2C_5680
        y ^= (y &<< 15) & 0xEFC6_0000
        y ^= y &>> 18
        return y
    }

    /// Hands out the next `count` untempered words as contiguous runs of the state: `body(run, length, done)`
    /// (done = words handed out before this run). Twists (8-wide) whenever the block is used up.
    @inlinable @inline(__always)
    mutating func forEachRun(_ count: Int, _ body: (UnsafePointer<UInt32>, Int, Int) -> Void) {
        var i = index
        var done = 0
        withWords { s in
            while done < count {
                if i >= 624 { MT19937.twist8(s); i = 0 }
                let k = min(624 &- i, count &- done)
                body(UnsafePointer(s + i), k, done)
                i &+= k
                done &+= k
            }
        }
        index = i
    }

    /// One untempered word as torch's float uniform in [0, 1): (tempered & 0xFFFFFF)·2⁻²⁴. In lane loops LLVM
    /// vectorizes it 8-wide (temper, vcvtdq2ps, vmulps): the Int32 conversion is exact for 24 bits and has a vector
    /// instruction, the unsigned one does not.
    @inlinable @inline(__always)
    public static func unit24(untempered word: UInt32) -> Float {
        Float(Int32(bitPattern: temper(word) & 0xFF_FFFF)) * 0x1p-24
    }

    /// `count` draws as torch's float uniforms in [0, 1) (`unit24`), stored at `out`.
    @inlinable @inline(__always)
    public mutating func fillUnit24(_ out: UnsafeMutablePointer<Float>, _ count: Int) {
        forEachRun(count) { src, k, done in
            let o = out + done
            for t in 0..<k { o[t] = MT19937.unit24(untempered: src[t]) }
        }
    }

    /// The next `count` untempered words (the twisted state, before tempering) copied to `out`, in stream order: the
    /// state advances past them exactly as `skipSequential(count)` would. A parallel part records its words this way
    /// while it advances to the next part's start, so each word is twisted once (see `ParallelFill`). Specialized for
    /// `Build` (`CPUKernels.build`, whose `captureWords` is the way to call it).
    @inlinable @inline(__always)
    mutating func captureWords<Build>(_ out: UnsafeMutableRawPointer, _ count: Int, _: Build.Type) {
        forEachRun(count) { src, k, done in
            (out + 4 &* done).copyMemory(from: src, byteCount: 4 &* k)
        }
    }

    /// `count` tempered draws stored at `out` (raw 32-bit outputs, stream order).
    @inlinable
    public mutating func fillWords(_ out: UnsafeMutablePointer<UInt32>, _ count: Int) {
        forEachRun(count) { src, k, done in
            let o = out + done
            for t in 0..<k { o[t] = MT19937.temper(src[t]) }
        }
    }
}
