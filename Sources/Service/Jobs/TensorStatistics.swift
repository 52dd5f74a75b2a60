import JSON

/// Mean, standard deviation, min and max of one tensor, accumulated from its little-endian
/// bytes as they stream past, in whatever pieces they come (an element may straddle two pieces).
///
/// `std` is torch's default (`Tensor.std()`, Bessel's correction); `null` for fewer than two
/// elements. Sums are taken around the first finite value, so a tensor with a large mean and a
/// small spread keeps its precision. NaN and ±inf are counted and left out of the moments.
/// bool counts as 0/1, integers as their value.
struct TensorStatistics: Sendable {
    enum Kind: Sendable { case float32, float16, bfloat16, float64, int64, int32, bool }

    let kind: Kind
    let elementSize: Int
    private(set) var count: UInt64 = 0
    private(set) var nonFinite: UInt64 = 0
    private var shift: Double?
    private var sum: Double = 0
    private var sumSquares: Double = 0
    private(set) var min: Double = .infinity
    private(set) var max: Double = -.infinity
    private var carry: [UInt8] = []

    /// nil for a dtype the service cannot decode (the tensor then gets a hash but no statistics).
    init?(dtype: String) {
        switch dtype {
        case "float32": kind = .float32; elementSize = 4
        case "float16": kind = .float16; elementSize = 2
        case "bfloat16": kind = .bfloat16; elementSize = 2
        case "float64": kind = .float64; elementSize = 8
        case "int64": kind = .int64; elementSize = 8
        case "int32": kind = .int32; elementSize = 4
        case "bool": kind = .bool; elementSize = 1
        default: return nil
        }
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0, let base = bytes.baseAddress else { return }
        var start = 0
        if !carry.isEmpty {
            let take = Swift.min(elementSize - carry.count, bytes.count)
            for i in 0..<take { carry.append(base.load(fromByteOffset: i, as: UInt8.self)) }
            start = take
            if carry.count == elementSize {
                let c = carry
                carry.removeAll(keepingCapacity: true)
                c.withUnsafeBytes { accumulate($0.baseAddress!, 1) }
            }
        }
        let whole = (bytes.count - start) / elementSize
        if whole > 0 { accumulate(base + start, whole) }
        let tail = start + whole * elementSize
        for i in tail..<bytes.count { carry.append(base.load(fromByteOffset: i, as: UInt8.self)) }
    }

    private mutating func accumulate(_ p: UnsafeRawPointer, _ n: Int) {
        // Local accumulators: the loop stays in registers.
        var s = sum, ss = sumSquares, lo = min, hi = max, bad: UInt64 = 0, seen: UInt64 = 0
        var k = shift
        @inline(__always) func add(_ x: Double) {
            guard x.isFinite else { bad += 1; return }
            if k == nil { k = x }
            let d = x - k!
            s += d
            ss += d * d
            if x < lo { lo = x }
            if x > hi { hi = x }
            seen += 1
        }
        switch kind {
        case .float32:
            for i in 0..<n { add(Double(Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))))) }
        case .float64:
            for i in 0..<n { add(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))) }
        case .float16:
            for i in 0..<n { add(Self.half(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)))) }
        case .bfloat16:
            for i in 0..<n {
                let bits = UInt32(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))) << 16
                add(Double(Float(bitPattern: bits)))
            }
        case .int64:
            for i in 0..<n { add(Double(Int64(littleEndian: p.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)))) }
        case .int32:
            for i in 0..<n { add(Double(Int32(littleEndian: p.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)))) }
        case .bool:
            for i in 0..<n { add(p.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0) }
        }
        sum = s; sumSquares = ss; min = lo; max = hi; shift = k
        count += seen
        nonFinite += bad
    }

    /// IEEE 754 binary16 → Double (exact), without relying on Float16 (absent on some x86 toolchains).
    static func half(_ h: UInt16) -> Double {
        let sign: Double = h & 0x8000 != 0 ? -1 : 1
        let exponent = Int((h >> 10) & 0x1f)
        let mantissa = Double(h & 0x3ff)
        switch exponent {
        case 0: return sign * mantissa * 0x1p-24
        case 31: return mantissa == 0 ? sign * .infinity : .nan
        default: return sign * (1 + mantissa / 1024) * Double(sign: .plus, exponent: exponent - 15, significand: 1)
        }
    }

    var mean: Double? {
        guard count > 0, let k = shift else { return nil }
        return k + sum / Double(count)
    }

    var std: Double? {
        guard count > 1 else { return nil }
        let n = Double(count)
        let variance = (sumSquares - sum * sum / n) / (n - 1)
        return variance > 0 ? variance.squareRoot() : 0
    }

    var json: JSONValue {
        func number(_ d: Double?) -> JSONValue { d.map { $0.isFinite ? .double($0) : .null } ?? .null }
        var o: JSONObject = [
            "mean": number(mean), "std": number(std),
            "min": count > 0 ? number(min) : .null, "max": count > 0 ? number(max) : .null,
            "count": .int(Int64(clamping: count)),
        ]
        if nonFinite > 0 { o["non_finite"] = .int(Int64(clamping: nonFinite)) }
        return .object(o)
    }
}
