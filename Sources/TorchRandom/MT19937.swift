/// 32-bit Mersenne Twister exactly as PyTorch's CPU generator (`at::mt19937`) runs it.
/// Value type: copying it snapshots the stream (624 words inline, ~2.5 KB, no heap).
public struct MT19937: Sendable {
    public static let n = 624
    @usableFromInline static let m = 397
    @usableFromInline var state: InlineArray<624, UInt32>
    /// Index of the next word to temper in `state`; 624 means "twist before the next draw" (torch: left == 1).
    @usableFromInline var index: Int

    /// `init_genrand` on the low 32 bits of `seed` (torch semantics: seeds s and s + 2³² are the same stream).
    public init(seed: UInt64) {
        var s = InlineArray<624, UInt32>(repeating: 0)
        var prev = UInt32(truncatingIfNeeded: seed)
        s[0] = prev
        for j in 1..<624 {
            prev = 1_812_433_253 &* (prev ^ (prev >> 30)) &+ UInt32(j)
            s[j] = prev
        }
        state = s
        index = 624
    }

    /// The raw (untempered) state words, as `torch.get_rng_state()` stores them.
    public var stateWords: [UInt32] { (0..<624).map { state[$0] } }
    /// Number of outputs still available before the next twist (torch's `left - 1`).
    public var remainingInBlock: Int { 624 - index }

    @inlinable @inline(__always)
    static func twist(_ s: UnsafeMutablePointer<UInt32>) {
        @inline(__always) func mix(_ a: UInt32, _ b: UInt32, _ c: UInt32) -> UInt32 {
            let y = (a & 0x8000_0000) | (b & 0x7FFF_FFFF)
            return c ^ (y >> 1) ^ ((y & 1) &* 0x9908_B0DF)
        }
        for i in 0..<227 { s[i] = mix(s[i], s[i + 1], s[i + 397]) }
        for i in 227..<623 { s[i] = mix(s[i], s[i + 1], s[i - 227]) }
        s[623] = mix(s[623], s[0], s[396])
    }

    @inlinable @inline(__always)
    static func temper(_ x: UInt32) -> UInt32 {
        var y = x
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    @inlinable @inline(__always)
    mutating func withWords<R>(_ body: (UnsafeMutablePointer<UInt32>) -> R) -> R {
        withUnsafeMutablePointer(to: &state) { p in
            body(UnsafeMutableRawPointer(p).assumingMemoryBound(to: UInt32.self))
        }
    }

    /// Next tempered 32-bit output.
    @inlinable @inline(__always)
    public mutating func next() -> UInt32 {
        var i = index
        let y: UInt32 = withWords { s in
            if i >= 624 { MT19937.twist8(s); i = 0 }
            return s[i]
        }
        index = i &+ 1
        return MT19937.temper(y)
    }

    /// Calls `body(k, word)` for the next `count` tempered outputs, k = 0..<count, in stream order.
    @inlinable @inline(__always)
    public mutating func generate(_ count: Int, _ body: (Int, UInt32) -> Void) {
        var i = index
        var done = 0
        withWords { s in
            while done < count {
                if i >= 624 { MT19937.twist8(s); i = 0 }
                let k = min(624 - i, count - done)
                for t in 0..<k { body(done &+ t, MT19937.temper(s[i &+ t])) }
                i &+= k
                done &+= k
            }
        }
        index = i
    }

    /// Skips longer than this many outputs jump (`jump`: ~1 ms, ~0.25 ms with its polynomial cached; twisting is ~0.25 ns per output) instead of twisting block after block.
    nonisolated(unsafe) public static var jumpThreshold = 1 << 22

    /// Advance `n` outputs: sequential twists for short skips, `jump` (time independent of `n`) for long ones.
    public mutating func skip(_ n: Int) {
        if n > MT19937.jumpThreshold { jump(n) } else { skipSequential(n) }
    }

    /// Advance `n` outputs without tempering (whole blocks are only twisted).
    public mutating func skipSequential(_ n: Int) {
        precondition(n >= 0, "MT19937.skip: negative count")
        let total = index + n
        if total <= 624 { index = total; return }
        let blocks = (total - 1) / 624   // twists until at most 624 of the block are used
        withWords { s in CPUKernels.active.twist(s, blocks) }
        index = total - 624 * blocks
    }
}
