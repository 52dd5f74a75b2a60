import Tensors
import TorchRandom

/// Produces a fill's values in consecutive chunks, bit-for-bit the same as one `TensorFill.apply` on the whole
/// (contiguous) tensor, so a tensor can be generated in bounded memory.
///
/// Ask `nextCount(limit:)` how many elements the next chunk holds, then call `next(into:)` with a buffer of
/// exactly that many elements; always use the same element type (Float or Double) for one cursor.
/// - constant, uniform, MMEngine trunc normal: any chunking (uniform draws are sequential, the trunc-normal
///   transform is elementwise).
/// - normal, numel ≥ 16: chunks start on a multiple of 16 and every chunk but the last is a multiple of 16, so
///   torch's blocks of 16 never straddle chunks; the last chunk starts at or before the last full block when
///   numel % 16 ≠ 0, so it holds every element the tail recompute (16 fresh draws over the last 16 positions)
///   overwrites. `Distributions.normal` on such a chunk is exactly torch's kernel restricted to it.
/// - normal numel < 16 (per-element path with the spare) and orthogonal: one chunk, the whole tensor.
public struct FillCursor {
    public let fill: TensorFill
    public let shape: [Int]
    public let count: Int
    /// Elements produced so far.
    public private(set) var position = 0
    public private(set) var generator: CPUGenerator
    /// MKL's code path, for the erfinv of a trunc-normal fill.
    public let mkl: ErfinvMKL.Path

    public init(fill: TensorFill, shape: [Int], generator: CPUGenerator, mkl: ErfinvMKL.Path = .sse4_2) {
        self.fill = fill
        self.shape = shape
        self.count = numel(shape)
        self.generator = generator
        self.mkl = mkl
    }

    public var isFinished: Bool { position >= count }

    /// Size of the next chunk for a budget of `limit` elements (0 once finished). It can exceed `limit` only for a
    /// normal fill with `limit < 32` (at most 31 elements), or for fills that are produced whole (orthogonal, normal < 16).
    public func nextCount(limit: Int) -> Int {
        let remaining = count - position
        if remaining <= 0 { return 0 }
        let limit = max(1, limit)
        if remaining <= limit { return remaining }
        switch fill {
        case .constant, .uniform, .mmengineTruncNormal:
            return limit
        case .orthogonal:
            return remaining
        case .normal:
            if count < 16 { return remaining }
            var c = max(16, limit / 16 * 16)
            let rem = count % 16
            if rem != 0 {
                // The last chunk must start at or before the last full block (16·(blocks − 1)).
                let lastStart = count - 16 - rem
                if position + c > lastStart { c = lastStart - position }
                if c <= 0 { return remaining }
            }
            return c
        }
    }

    /// Skips the draws of the elements before `target` (at most to `target`, as far as torch's blocks allow: a
    /// normal fill stops on a block of 16 that keeps the tail recompute in the next chunk; normal < 16 and
    /// orthogonal do not skip). Only at the start. The next chunk then starts at `position` (≤ `target`).
    public mutating func skip(to target: Int) {
        precondition(position == 0 && target >= 0 && target <= count, "FillCursor.skip: only from the start, inside the tensor")
        var p = 0
        switch fill {
        case .constant:
            p = target
        case .uniform, .mmengineTruncNormal:
            p = target
            generator.skip(Distributions.uniformDraws(count: p, wide: false) * (usesWideDraws ? 2 : 1))
        case .normal:
            guard count >= 16 else { break }
            p = target / 16 * 16
            if count % 16 != 0 { p = min(p, count - 16 - count % 16) }
            generator.skip(usesWideDraws ? 2 * p : p)
        case .orthogonal:
            break
        }
        position = p
    }

    /// Set by the caller for float64 storage (two 32-bit draws per value) before `skip(to:)`.
    public var usesWideDraws = false

    /// Produces the next `out.count` elements (`out.count` must be what `nextCount` returned).
    public mutating func next(into out: UnsafeMutableBufferPointer<Float>) {
        check(out.count)
        switch fill {
        case .orthogonal:
            fill.apply(to: out, shape: shape, generator: &generator)
        case .normal(let mean, let std):
            if count < 16 { fill.apply(to: out, shape: shape, generator: &generator) } else {
                Distributions.normal(out, mean: mean, std: std, &generator)
            }
        default:
            fill.apply(to: out, shape: [out.count], generator: &generator, mkl: mkl)
        }
        position += out.count
    }

    /// Same for float64 storage.
    public mutating func next(into out: UnsafeMutableBufferPointer<Double>) {
        check(out.count)
        switch fill {
        case .orthogonal:
            fill.apply(to: out, shape: shape, generator: &generator)
        case .normal(let mean, let std):
            if count < 16 { fill.apply(to: out, shape: shape, generator: &generator) } else {
                Distributions.normal(out, mean: mean, std: std, &generator)
            }
        default:
            fill.apply(to: out, shape: [out.count], generator: &generator)
        }
        position += out.count
    }

    private func check(_ n: Int) {
        precondition(n > 0 && position + n <= count, "FillCursor: chunk of \(n) at \(position) of \(count)")
        if case .normal = fill, count >= 16 {
            precondition(position % 16 == 0 && n >= 16 && (position + n == count || n % 16 == 0),
                         "FillCursor: normal chunk of \(n) at \(position) breaks torch's blocks of 16")
            if count % 16 != 0 && position + n == count {
                precondition(position <= count - 16 - count % 16, "FillCursor: last normal chunk misses the tail")
            }
        }
        if case .orthogonal = fill { precondition(position == 0 && n == count, "FillCursor: orthogonal is produced whole") }
    }
}
