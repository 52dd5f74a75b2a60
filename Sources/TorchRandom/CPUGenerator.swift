/// PyTorch's `CPUGeneratorImpl`: an mt19937 plus the cached double normal sample.
/// Value semantics: a copy is a snapshot of the stream (including the spare).
public struct CPUGenerator: Sendable {
    public var engine: MT19937
    /// torch's cached `next_double_normal_sample` (the unscaled r·sin θ of the per-element Box–Muller).
    public var spare: Double?
    /// The full 64-bit seed as `torch.initial_seed()` reports it.
    public let initialSeed: UInt64

    /// `torch.manual_seed(seed)`: only the low 32 bits seed the twister; clears the spare.
    /// Pass negative Int64 seeds as `UInt64(bitPattern:)`.
    public init(seed: UInt64) {
        engine = MT19937(seed: seed)
        spare = nil
        initialSeed = seed
    }

    /// One 32-bit draw.
    @inlinable @inline(__always)
    public mutating func random() -> UInt32 { engine.next() }

    /// Two draws, `(first << 32) | second`.
    @inlinable @inline(__always)
    public mutating func random64() -> UInt64 {
        let hi = UInt64(engine.next())
        let lo = UInt64(engine.next())
        return (hi << 32) | lo
    }

    /// Skip `draws` 32-bit draws (the spare is untouched).
    public mutating func skip(_ draws: Int) { engine.skip(draws) }
}
