#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// mt19937 jump-ahead by the polynomial method (Haramoto, Matsumoto, Nishimura, Panneton, L'Ecuyer 2008):
/// advancing the word sequence by m steps is multiplying the state by B^m, and B^m = g(B) for
/// g(x) = x^m mod φ(x), φ the characteristic polynomial of the recurrence (degree 19937, 135 terms).
/// So x[k+m+j] = Σ_{g_i = 1} x[k+i+j] for j ≥ 1: the words m ahead are a sum of ≤ 19937 windows of the
/// next 20,561 words, whatever m is. Cost: computing g (≈ 2·log₂ m sparse reductions, cached) plus one pass
/// of XORs over those windows — independent of the jump length.
public enum MT19937Jump {
    /// Exponents of the nonzero terms of φ(x), ascending (found by Berlekamp–Massey on the msb sequence;
    /// checked by the jump tests against sequential stepping).
    static let charPolyTerms: [Int] = [
        0, 1189, 1416, 1585, 1643, 1870, 2493, 2773, 3000, 3227, 3454, 3681, 3908, 4135,
        4362, 4753, 5661, 6337, 6569, 7129, 7477, 7525, 7583, 7752, 7979, 8206, 9505, 9901,
        9969, 10128, 10693, 10761, 10920, 11089, 11147, 11157, 11215, 11321, 11374, 11384, 11485, 11611,
        11712, 11717, 11838, 11881, 11944, 11997, 12277, 12335, 12393, 12504, 12509, 12620, 12673, 12731,
        12736, 12789, 12905, 12958, 12963, 13137, 13185, 13190, 13243, 13301, 13412, 13528, 13533, 13639,
        13697, 13760, 13813, 13866, 14093, 14151, 14209, 14320, 14325, 14436, 14547, 14552, 14605, 14721,
        14774, 14779, 14953, 15001, 15006, 15059, 15117, 15228, 15344, 15349, 15455, 15513, 15576, 15629,
        15682, 15909, 15967, 16025, 16136, 16141, 16252, 16363, 16368, 16421, 16537, 16590, 16595, 16817,
        16822, 16875, 16933, 17044, 17160, 17271, 17329, 17445, 17498, 17725, 17783, 17841, 17952, 18068,
        18179, 18237, 18406, 18633, 18691, 18860, 19087, 19314, 19937,
    ]
    static let degree = 19937
    /// Words of a polynomial of degree < 19937.
    static let polyWords = (degree + 63) / 64  // 312

    /// Set-bit indices of x^m mod φ (the windows to add), ascending.
    public static func windows(_ m: UInt64) -> [Int32] {
        cache.lock()
        if let hit = cache.entries.first(where: { $0.m == m }) { cache.unlock(); return hit.bits }
        cache.unlock()
        let poly = power(m)
        var bits: [Int32] = []
        bits.reserveCapacity(degree / 2 + 256)
        for (w, word) in poly.enumerated() {
            var v = word
            while v != 0 {
                let b = v.trailingZeroBitCount
                bits.append(Int32(w * 64 + b))
                v &= v &- 1
            }
        }
        cache.lock()
        cache.entries.insert((m, bits), at: 0)
        if cache.entries.count > 16 { cache.entries.removeLast() }
        cache.unlock()
        return bits
    }

    /// Recent polynomials (the chunked, parallel fills repeat the same few jump lengths).
    final class Cache: @unchecked Sendable {
        var entries: [(m: UInt64, bits: [Int32])] = []
        private var mutex = pthread_mutex_t()
        init() { pthread_mutex_init(&mutex, nil) }
        func lock() { pthread_mutex_lock(&mutex) }
        func unlock() { pthread_mutex_unlock(&mutex) }
    }
    static let cache = Cache()

    /// x^m mod φ, 312 words (bit i = coefficient of x^i).
    static func power(_ m: UInt64) -> [UInt64] {
        var r = [UInt64](repeating: 0, count: 2 * polyWords + 2)
        r[0] = 1
        if m == 0 { return Array(r[0..<polyWords]) }
        var tmp = [UInt64](repeating: 0, count: 2 * polyWords + 2)
        let top = 63 - m.leadingZeroBitCount
        r.withUnsafeMutableBufferPointer { rp in
            tmp.withUnsafeMutableBufferPointer { tp in
                for bit in stride(from: top, through: 0, by: -1) {
                    // r = r² (spread bits), then reduce
                    for i in 0..<(2 * polyWords + 2) { tp[i] = 0 }
                    for i in 0..<polyWords {
                        let w = rp[i]
                        tp[2 * i] = spread(UInt32(truncatingIfNeeded: w))
                        tp[2 * i + 1] = spread(UInt32(truncatingIfNeeded: w >> 32))
                    }
                    if (m >> UInt64(bit)) & 1 == 1 {
                        // multiply by x: shift left by one
                        var carry: UInt64 = 0
                        for i in 0..<(2 * polyWords + 1) {
                            let w = tp[i]
                            tp[i] = (w << 1) | carry
                            carry = w >> 63
                        }
                    }
                    reduce(tp)
                    for i in 0..<(2 * polyWords + 2) { rp[i] = tp[i] }
                }
            }
        }
        return Array(r[0..<polyWords])
    }

    /// Interleave zeros: bit k → bit 2k (squaring over GF(2)).
    @inline(__always) static func spread(_ x: UInt32) -> UInt64 {
        var v = UInt64(x)
        v = (v | (v << 16)) & 0x0000_FFFF_0000_FFFF
        v = (v | (v << 8)) & 0x00FF_00FF_00FF_00FF
        v = (v | (v << 4)) & 0x0F0F_0F0F_0F0F_0F0F
        v = (v | (v << 2)) & 0x3333_3333_3333_3333
        v = (v | (v << 1)) & 0x5555_5555_5555_5555
        return v
    }

    /// p mod φ in place (p of degree < 2·19937 + 64). φ's second-highest term is 19314 (623 below the top), so a
    /// 64-bit word of high coefficients reduces into words strictly below it.
    static func reduce(_ p: UnsafeMutableBufferPointer<UInt64>) {
        @inline(__always) func xorAt(_ pos: Int, _ v: UInt64) {
            let q = pos >> 6, s = pos & 63
            p[q] ^= v << UInt64(s)
            if s != 0 { p[q + 1] ^= v >> UInt64(64 - s) }
        }
        let d = degree
        for w in stride(from: p.count - 1, through: polyWords, by: -1) {
            let v = p[w]
            if v == 0 { continue }
            p[w] = 0
            let base = 64 * w - d
            for t in charPolyTerms.dropLast() { xorAt(base + t, v) }
        }
        // word 311 holds coefficients 19904..19967: those ≥ 19937 are bits 33...
        let w = polyWords - 1, low = d - 64 * w  // 33
        let v = p[w] >> UInt64(low)
        if v != 0 {
            p[w] &= (1 << UInt64(low)) - 1
            for t in charPolyTerms.dropLast() { xorAt(t, v) }
        }
    }
}

extension MT19937 {
    /// Words of the window sequence a jump reads: 624 + 19937.
    static let jumpBufferWords = 624 + 19937

    /// Advance `n` outputs exactly as `skip(n)` (and as `n` calls of `next()`), in time independent of `n`
    /// (about a millisecond; `skip` picks it for long skips). The resulting state words are exact, including the
    /// low bits of word 0, so `stateWords` matches sequential stepping.
    public mutating func jump(_ n: Int) {
        precondition(n >= 0, "MT19937.jump: negative count")
        let t = index + n
        if t <= 624 { index = t; return }
        let q = (t - 1) / 624                       // twists sequential stepping would make
        let newIndex = t - 624 * q                  // in 1...624
        // Window words x[base+624q+j], j = 0..<624, from x[base + i + j + 1] summed over the set bits i of x^(624q−1) mod φ.
        let bits = MT19937Jump.windows(UInt64(624 * q - 1))
        let words = MT19937.jumpBufferWords
        let buf = UnsafeMutablePointer<UInt32>.allocate(capacity: words + 8)
        defer { buf.deallocate() }
        withWords { s in
            buf.update(from: s, count: 624)
        }
        var p = 624
        while p < words + 8 {
            let y = (buf[p - 624] & 0x8000_0000) | (buf[p - 623] & 0x7FFF_FFFF)
            buf[p] = buf[p - 227] ^ (y >> 1) ^ ((y & 1) &* 0x9908_B0DF)
            p += 1
        }
        withWords { s in
            MT19937Jump.sumWindows(bits, UnsafePointer(buf + 1), into: s)
        }
        index = newIndex
    }
}

extension MT19937Jump {
    /// out[j] = XOR over i in `bits` of src[i + j], j = 0..<624. Strips of 64 words stay in registers.
    static func sumWindows(_ bits: [Int32], _ src: UnsafePointer<UInt32>, into out: UnsafeMutablePointer<UInt32>) {
        typealias V = SIMD8<UInt32>
        let raw = UnsafeRawPointer(src)
        bits.withUnsafeBufferPointer { b in
            var j = 0
            while j < 624 {
                // 64-word strips (the last strip: 624 = 9·64 + 48)
                let width = min(64, 624 - j)
                if width == 64 {
                    var a0 = V(), a1 = V(), a2 = V(), a3 = V(), a4 = V(), a5 = V(), a6 = V(), a7 = V()
                    for i in b {
                        let at = raw + 4 &* (Int(i) &+ j)
                        a0 ^= at.loadUnaligned(fromByteOffset: 0, as: V.self)
                        a1 ^= at.loadUnaligned(fromByteOffset: 32, as: V.self)
                        a2 ^= at.loadUnaligned(fromByteOffset: 64, as: V.self)
                        a3 ^= at.loadUnaligned(fromByteOffset: 96, as: V.self)
                        a4 ^= at.loadUnaligned(fromByteOffset: 128, as: V.self)
                        a5 ^= at.loadUnaligned(fromByteOffset: 160, as: V.self)
                        a6 ^= at.loadUnaligned(fromByteOffset: 192, as: V.self)
                        a7 ^= at.loadUnaligned(fromByteOffset: 224, as: V.self)
                    }
                    let o = UnsafeMutableRawPointer(out + j)
                    o.storeBytes(of: a0, toByteOffset: 0, as: V.self)
                    o.storeBytes(of: a1, toByteOffset: 32, as: V.self)
                    o.storeBytes(of: a2, toByteOffset: 64, as: V.self)
                    o.storeBytes(of: a3, toByteOffset: 96, as: V.self)
                    o.storeBytes(of: a4, toByteOffset: 128, as: V.self)
                    o.storeBytes(of: a5, toByteOffset: 160, as: V.self)
                    o.storeBytes(of: a6, toByteOffset: 192, as: V.self)
                    o.storeBytes(of: a7, toByteOffset: 224, as: V.self)
                } else {
                    var a0 = V(), a1 = V(), a2 = V(), a3 = V(), a4 = V(), a5 = V()
                    for i in b {
                        let at = raw + 4 &* (Int(i) &+ j)
                        a0 ^= at.loadUnaligned(fromByteOffset: 0, as: V.self)
                        a1 ^= at.loadUnaligned(fromByteOffset: 32, as: V.self)
                        a2 ^= at.loadUnaligned(fromByteOffset: 64, as: V.self)
                        a3 ^= at.loadUnaligned(fromByteOffset: 96, as: V.self)
                        a4 ^= at.loadUnaligned(fromByteOffset: 128, as: V.self)
                        a5 ^= at.loadUnaligned(fromByteOffset: 160, as: V.self)
                    }
                    let o = UnsafeMutableRawPointer(out + j)
                    o.storeBytes(of: a0, toByteOffset: 0, as: V.self)
                    o.storeBytes(of: a1, toByteOffset: 32, as: V.self)
                    o.storeBytes(of: a2, toByteOffset: 64, as: V.self)
                    o.storeBytes(of: a3, toByteOffset: 96, as: V.self)
                    o.storeBytes(of: a4, toByteOffset: 128, as: V.self)
                    o.storeBytes(of: a5, toByteOffset: 160, as: V.self)
                }
                j += width
            }
        }
    }
}
