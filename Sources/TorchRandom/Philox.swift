/// Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3", SC 2011), the
/// counter-based generator behind `"rng": "counter"` (docs/counter-rng.md). A pure function of a 128-bit counter
/// and a 64-bit key: any element's draw is computed on its own, on any core, in any order.
public enum Philox {
    public static let m0: UInt32 = 0xD251_1F53
    public static let m1: UInt32 = 0xCD9E_8D57
    public static let w0: UInt32 = 0x9E37_79B9
    public static let w1: UInt32 = 0xBB67_AE85

    /// Ten rounds of Philox4x32 on `counter` (c0, c1, c2, c3) with `key` (k0, k1), Random123's word order.
    @inlinable @inline(__always)
    public static func block(_ c: (UInt32, UInt32, UInt32, UInt32), key k: (UInt32, UInt32)) -> (UInt32, UInt32, UInt32, UInt32) {
        var (c0, c1, c2, c3) = c
        var (k0, k1) = k
        for r in 0..<10 {
            if r > 0 { k0 &+= w0; k1 &+= w1 }
            let p0 = UInt64(m0) &* UInt64(c0)
            let p1 = UInt64(m1) &* UInt64(c2)
            let hi0 = UInt32(truncatingIfNeeded: p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(truncatingIfNeeded: p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
        }
        return (c0, c1, c2, c3)
    }

    /// 64-bit FNV-1a of `bytes` (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
    public static func fnv1a64<S: Sequence>(_ bytes: S) -> UInt64 where S.Element == UInt8 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }

    /// SplitMix64's finalizer (a bijection of UInt64).
    public static func mix64(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The Philox key of one tensor stream: `mix64(UInt64(bitPattern: seed) ^ mix64(fnv1a64(utf8(name))))`,
/// k0 its low 32 bits, k1 its high 32 bits.
public struct CounterKey: Sendable, Hashable {
    public let k0: UInt32, k1: UInt32

    public init(seed: Int64, name: String) {
        let k = Philox.mix64(UInt64(bitPattern: seed) ^ Philox.mix64(Philox.fnv1a64(name.utf8)))
        k0 = UInt32(truncatingIfNeeded: k)
        k1 = UInt32(truncatingIfNeeded: k >> 32)
    }

    public init(k0: UInt32, k1: UInt32) { self.k0 = k0; self.k1 = k1 }

    /// The four words for element `index` of write `ordinal`, redraw `round`:
    /// counter (index low 32, index high 32, ordinal, round).
    @inlinable @inline(__always)
    public func words(_ index: Int, ordinal: UInt32, round: UInt32 = 0) -> (UInt32, UInt32, UInt32, UInt32) {
        let i = UInt64(bitPattern: Int64(index))
        return Philox.block((UInt32(truncatingIfNeeded: i), UInt32(truncatingIfNeeded: i >> 32), ordinal, round), key: (k0, k1))
    }
}
