#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import JSON
import Tensors

/// `"shard": {"dim": d, "index": i, "count": n}`: part `i` of `torch.tensor_split(t, n, dim=d)` of every tensor
/// (docs/shard.md). `dim` may be negative (counted from each tensor's last dimension, as in PyTorch); a tensor
/// without that dimension (fewer dims, or a scalar) is sent whole (replicated on every rank).
public struct ShardSpec: Sendable, Equatable {
    public static let maxCount = 1 << 20
    public let dim: Int
    public let index: Int
    public let count: Int

    public init(dim: Int, index: Int, count: Int) {
        self.dim = dim
        self.index = index
        self.count = count
    }

    public init(_ value: JSONValue, at pointer: JSONPointer) throws(SpecError) {
        guard case .object(let o) = value else {
            throw SpecError(.invalid, at: pointer, "shard must be an object {\"dim\", \"index\", \"count\"}, got \(value.typeName)")
        }
        for key in o.keys where !["dim", "index", "count"].contains(key) {
            throw SpecError(.invalid, at: pointer / key, "unknown shard field '\(key)'; expected dim, index, count")
        }
        func int(_ key: String) throws(SpecError) -> Int {
            guard case .int(let v)? = o[key] else {
                throw SpecError(.invalid, at: pointer / key, "shard.\(key) must be an integer, got \(o[key]?.typeName ?? "nothing")")
            }
            return Int(v)
        }
        dim = try int("dim")
        count = try int("count")
        index = try int("index")
        guard dim >= -64 && dim < 64 else { throw SpecError(.invalid, at: pointer / "dim", "shard.dim must lie in [-64, 63], got \(dim)") }
        guard count >= 1 && count <= ShardSpec.maxCount else {
            throw SpecError(.invalid, at: pointer / "count", "shard.count must lie in [1, \(ShardSpec.maxCount)], got \(count)")
        }
        guard index >= 0 && index < count else {
            throw SpecError(.invalid, at: pointer / "index", "shard.index must lie in [0, count) = [0, \(count)), got \(index)")
        }
    }

    /// The slice of a tensor of `shape`, or nil when it has no dimension `dim` (sent whole).
    public func slice(of shape: [Int]) -> ShardSlice? {
        let d = dim < 0 ? dim + shape.count : dim
        guard d >= 0 && d < shape.count else { return nil }
        let size = shape[d], base = size / count, extra = size % count
        let lo = index * base + min(index, extra)
        let hi = lo + base + (index < extra ? 1 : 0)
        return ShardSlice(shape: shape, dim: d, range: lo..<hi)
    }
}

/// Elements `range` along dimension `dim` of a row-major tensor of `shape`: `outer` contiguous runs of
/// `runLength` elements, the first at `first`, one every `stride` elements.
public struct ShardSlice: Sendable, Equatable {
    public let shape: [Int]
    public let dim: Int
    public let range: Range<Int>

    public var outputShape: [Int] { var s = shape; s[dim] = range.count; return s }
    var inner: Int { numel(Array(shape[(dim + 1)...])) }
    var outer: Int { numel(Array(shape[..<dim])) }
    var runLength: Int { range.count * inner }
    var stride: Int { shape[dim] * inner }
    var first: Int { range.lowerBound * inner }
    public var count: Int { outer * runLength }
}

/// Where a tensor's output elements lie in the full tensor: contiguous runs (one for an unsharded tensor).
struct Runs {
    let first: Int, stride: Int, length: Int, count: Int

    init(_ slice: ShardSlice?, total: Int) {
        if let s = slice, s.count > 0, s.runLength > 0 {
            (first, stride, length, count) = (s.first, s.stride, s.runLength, s.outer)
        } else if let s = slice {
            (first, stride, length, count) = (0, 1, 0, s.count == 0 ? 0 : 1)
        } else {
            (first, stride, length, count) = (0, max(total, 1), total, total > 0 ? 1 : 0)
        }
    }

    var elements: Int { length * count }
    var end: Int { count == 0 ? 0 : first + (count - 1) * stride + length }
    func start(_ r: Int) -> Int { first + r * stride }

    /// Moves the elements of full-tensor range [s, s + n) that lie in the runs, held in `values[0..<n]`, to the front
    /// of `values` (in order); returns how many.
    func compact<T>(_ values: UnsafeMutableBufferPointer<T>, from s: Int) -> Int {
        let n = values.count
        if count == 1 && first <= s && s + n <= first + length { return n }
        guard length > 0 else { return 0 }
        var kept = 0
        var r = max(0, (s - first) / stride)
        while r < count {
            let a = start(r), b = a + length
            if a >= s + n { break }
            let lo = max(a, s), hi = min(b, s + n)
            if lo < hi {
                if kept != lo - s {
                    memmove(values.baseAddress! + kept, values.baseAddress! + (lo - s), (hi - lo) * MemoryLayout<T>.stride)
                }
                kept += hi - lo
            }
            r += 1
        }
        return kept
    }
}
