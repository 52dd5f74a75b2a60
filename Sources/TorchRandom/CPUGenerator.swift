/// PyTorch's `CPUGeneratorImpl`: an mt19937 plus the cached double normal sample.
/// Value semantics: a copy is a snapshot of the stream (including the spare).
public struct CPUGenerator: Sendable {
    /// The twister, with any pending skip applied first (every access settles, so kernels never see a stale state).
    public var engine: MT19937 {
        get {  // a settled copy (read-only uses: state words, position)
            if pendingSkip == 0 { return stored }
            var e = stored
            e.skip(pendingSkip)
            return e
        }
        _modify { settle(); yield &stored }
        set { stored = newValue; pendingSkip = 0 }
    }
    @usableFromInline var stored: MT19937
    /// Draws skipped but not yet applied to the twister (`skip` only counts; `settle` applies them, by one jump
    /// when long). A run of dead fills therefore costs one jump, and a snapshot's pending skip is applied by the
    /// thread that uses it. Not observable: every draw, and `engine`, settles first.
    public private(set) var pendingSkip = 0
    /// torch's cached `next_double_normal_sample` (the unscaled r·sin θ of the per-element Box–Muller).
    public var spare: Double?
    /// The full 64-bit seed as `torch.initial_seed()` reports it.
    public let initialSeed: UInt64

    /// `torch.manual_seed(seed)`: only the low 32 bits seed the twister; clears the spare.
    /// Pass negative Int64 seeds as `UInt64(bitPattern:)`.
    public init(seed: UInt64) {
        stored = MT19937(seed: seed)
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

    /// Skip `draws` 32-bit draws (the spare is untouched). Lazy: see `pendingSkip`.
    public mutating func skip(_ draws: Int) {
        precondition(draws >= 0, "CPUGenerator.skip: negative count")
        pendingSkip += draws
    }

    /// Applies the pending skip now: sequential twists when short, one jump-ahead when long (`MT19937.skip`).
    /// Call it before taking many snapshots of the same position so they do not each redo it.
    @inlinable @inline(__always)
    public mutating func settle() {
        if pendingSkip != 0 { settleSlow() }
    }

    @usableFromInline mutating func settleSlow() {
        stored.skip(pendingSkip)
        pendingSkip = 0
    }
}
