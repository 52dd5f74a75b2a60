/// Makes the float32 erfinv bit-identical to torch's on x86 MKL builds (Intel MKL `vmsErfInv`, HA mode), on each
/// of the code paths MKL picks by CPU (`Path`).
///
/// `ErfinvFloat`'s polynomial result rounded to float is the correctly rounded erfinv; MKL's HA result is not always.
/// Over all 2,130,706,432 floats in (−1, 1), MKL's SSE4.2 path (its path on AMD CPUs) is 1 ulp away from it at
/// 120,954 inputs (60,477 per sign, an exact mirror image), its AVX2 path at 42,712, its AVX-512 path at 1,086,344.
/// Each such input lies close to a rounding midpoint (exact erfinv halfway between two floats): within 0.002 ulp on
/// the SSE4.2 and AVX2 paths, within 0.044 ulp on the AVX-512 path. So the kernel only consults the path's exception
/// table (an exhaustive enumeration against torch, see scripts/erfinv_mkl/make_table.py) for lanes whose
/// double-precision result is within the path's window of a midpoint: 2⁻⁸ ulp (≈ 0.8 % of arbitrary inputs) or,
/// for AVX-512, 2⁻⁴ ulp (≈ 12 %).
///
/// A table stores, for each positive exception input, MKL's result bits mod 4; the correction picks, among our
/// float and its two neighbours, the one with those low bits (unique in any three consecutive floats). So it stays
/// right for a base function that is within 1 ulp of MKL at those inputs — but a changed base function may create
/// new exceptions: regenerate the tables and rerun the exhaustive checks after changing `ErfinvFloat.lanes`.
public enum ErfinvMKL {
    /// MKL's code paths whose `vmsErfInv` this reproduces (`MKL_ENABLE_INSTRUCTIONS` names them SSE4_2, AVX2, AVX512).
    public enum Path: String, Sendable, CaseIterable {
        case sse4_2, avx2, avx512

        /// Lanes whose 29 discarded double bits (below float precision) are within [−window, window) of the midpoint
        /// 2²⁸ are candidates (a power of two).
        @usableFromInline var window: UInt64 {
            self == .avx512 ? 1 << 25 : 1 << 21  // 2⁻⁴ / 2⁻⁸ ulp of the float result
        }

        @usableFromInline var table: Table {
            switch self {
            case .sse4_2: ErfinvMKL.sse42Table
            case .avx2: ErfinvMKL.avx2Table
            case .avx512: ErfinvMKL.avx512Table
            }
        }
    }

    /// Inputs (positive bit patterns) below this never need a correction.
    @usableFromInline static let base: UInt32 = 0x3380_0000
    @usableFromInline static let bucketShift: UInt32 = 12

    /// Decoded once at first use.
    @usableFromInline final class Table: @unchecked Sendable {
        /// Sorted positive input bit patterns of the exceptions (not used by the lookup).
        let keys: [UInt32]
        /// The lookup (≈ 0.3 MB, 1.3 MB for AVX-512): entries[starts[k] ..< starts[k + 1]] are the keys with
        /// (key − base) >> bucketShift == k, each as (key & 0xFFF) << 2 | (MKL result bits & 3).
        /// Allocated once for the life of the process.
        let starts: UnsafeMutablePointer<UInt32>
        let entries: UnsafeMutablePointer<UInt16>

        init(encoded: String, count: Int) {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(encoded.utf8.count * 3 / 4)
            var acc: UInt32 = 0, nbits = 0
            for c in encoded.utf8 {
                let v: UInt32
                switch c {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - UInt8(ascii: "A"))
                case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - UInt8(ascii: "a")) + 26
                case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c - UInt8(ascii: "0")) + 52
                case UInt8(ascii: "+"): v = 62
                case UInt8(ascii: "/"): v = 63
                default: continue  // newlines, padding
                }
                acc = (acc << 6) | v
                nbits += 6
                if nbits >= 8 {
                    nbits -= 8
                    bytes.append(UInt8(truncatingIfNeeded: acc >> UInt32(nbits)))
                }
            }
            // LEB128 varints: (key − previous key) << 2 | residue, previous key starting at `base`.
            var keys: [UInt32] = [], residues: [UInt8] = []
            var prev = ErfinvMKL.base
            var value: UInt64 = 0, shift: UInt64 = 0
            for b in bytes {
                value |= UInt64(b & 0x7F) << shift
                shift += 7
                if b & 0x80 != 0 { continue }
                prev += UInt32(value >> 2)
                keys.append(prev)
                residues.append(UInt8(value & 3))
                value = 0
                shift = 0
            }
            let buckets = Int((0x3F80_0000 - ErfinvMKL.base) >> ErfinvMKL.bucketShift)
            precondition(keys.count == count, "ErfinvMKL: corrupt exception table")
            starts = .allocate(capacity: buckets + 1)
            entries = .allocate(capacity: max(keys.count, 1))
            var j = 0
            for k in 0..<buckets {
                starts[k] = UInt32(j)
                while j < keys.count && Int((keys[j] - ErfinvMKL.base) >> ErfinvMKL.bucketShift) == k {
                    entries[j] = UInt16(keys[j] & 0xFFF) << 2 | UInt16(residues[j])
                    j += 1
                }
            }
            starts[buckets] = UInt32(j)
            precondition(j == keys.count, "ErfinvMKL: exception table not sorted")
            self.keys = keys
        }

        /// MKL's result bits & 3 for the positive input bit pattern `b`, or nil when our float is already MKL's.
        @usableFromInline func residue(_ b: UInt32) -> UInt8? {
            guard b >= ErfinvMKL.base, b < 0x3F80_0000 else { return nil }
            let k = Int((b - ErfinvMKL.base) >> ErfinvMKL.bucketShift)
            var j = Int(starts[k])
            let end = Int(starts[k + 1])
            let low = UInt16(b & 0xFFF)
            while j < end {
                let e = entries[j]
                if e >> 2 == low { return UInt8(e & 3) }
                j += 1
            }
            return nil
        }
    }

    @usableFromInline static let sse42Table = Table(encoded: ErfinvMKLTable.encoded, count: ErfinvMKLTable.count)
    @usableFromInline static let avx2Table = Table(encoded: ErfinvMKLTableAVX2.encoded, count: ErfinvMKLTableAVX2.count)
    @usableFromInline static let avx512Table = Table(encoded: ErfinvMKLTableAVX512.encoded, count: ErfinvMKLTableAVX512.count)

    /// Number of positive exception inputs in `path`'s table.
    public static func exceptionCount(_ path: Path) -> Int { path.table.keys.count }

    /// MKL's float for input `y` given our correctly rounded float `r` (same sign as y; finite, |y| < 1).
    @inline(never) @usableFromInline
    static func correct(_ y: Float, _ r: Float, _ table: Table) -> Float {
        guard let m = table.residue(y.bitPattern & 0x7FFF_FFFF) else { return r }
        let o = r.bitPattern & 0x7FFF_FFFF
        let sign = r.bitPattern & 0x8000_0000
        switch (UInt32(m) &- o) & 3 {
        case 1: return Float(bitPattern: sign | (o + 1))
        case 3: return Float(bitPattern: sign | (o - 1))
        default: return r
        }
    }

    /// Corrects the lanes of `r` (our floats for inputs `y`, rounded from the doubles `d`) that are exceptions of
    /// `path`.
    @inline(__always) @usableFromInline
    static func apply(_ r: inout SIMD16<Float>, y: SIMD16<Float>, d: SIMD16<Double>, path: Path) {
        // Candidates: the 29 double mantissa bits below float precision are within [−window, window) of 2²⁸ (a
        // midpoint), i.e. (low − (2²⁸ − window)) mod 2⁶⁴ < 2·window, a power of two: no bits above it set.
        let window = path.window
        let low = unsafeBitCast(d, to: SIMD16<UInt64>.self) & ((1 << 29) - 1)
        let dist = (low &- ((1 << 28) - window)) & ~(2 * window - 1)
        // dist == 0 tested as a double (+0 only: a wrapped dist has its top 36 bits set, a NaN): Swift's integer
        // SIMD16 comparisons compile to a scalar loop, the double one to vcmpeqpd.
        if any(unsafeBitCast(dist, to: SIMD16<Double>.self) .== 0) { r = correctLanes(r, y: y, dist: dist, path.table) }
    }

    @inline(never) @usableFromInline
    static func correctLanes(_ r: SIMD16<Float>, y: SIMD16<Float>, dist: SIMD16<UInt64>, _ table: Table) -> SIMD16<Float> {
        var out = r
        for k in 0..<16 where dist[k] == 0 { out[k] = correct(y[k], r[k], table) }
        return out
    }
}
