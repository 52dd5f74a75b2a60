/// The float32 fills' hot loops as one table, like ATen's `DispatchStub` per `CPU_CAPABILITY`: `avx2` is this
/// module's build (AVX2 + FMA, the package's baseline), and the `TorchRandomAVX512` target builds the same loops for
/// AVX-512 through `build`. Every lane does the same IEEE operations in every build (explicit fused multiply-adds,
/// no reassociation), so the bytes never depend on the table; the tests compare the tables with the scalar references.
public struct CPUKernels: Sendable {
    /// "avx2" or "avx512": which build of the loops this is.
    public let capability: String
    let normalBlocks: @Sendable (UnsafeMutableBufferPointer<Float>, Float, Float, inout MT19937) -> Void
    let normalBlocksFromWords: @Sendable (UnsafeMutableBufferPointer<Float>, Float, Float) -> Void
    let uniform: @Sendable (UnsafeMutableBufferPointer<Float>, Float, Float, inout MT19937) -> Void
    let uniformFromWords: @Sendable (UnsafeMutableBufferPointer<Float>, Float, Float) -> Void
    let captureWords: @Sendable (inout MT19937, UnsafeMutableRawPointer, Int) -> Void
    /// Twists the 624-word state in place `count` times (skipping whole blocks).
    let twist: @Sendable (UnsafeMutablePointer<UInt32>, Int) -> Void

    @usableFromInline
    init(capability: String,
         normalBlocks: @escaping @Sendable (UnsafeMutableBufferPointer<Float>, Float, Float, inout MT19937) -> Void,
         normalBlocksFromWords: @escaping @Sendable (UnsafeMutableBufferPointer<Float>, Float, Float) -> Void,
         uniform: @escaping @Sendable (UnsafeMutableBufferPointer<Float>, Float, Float, inout MT19937) -> Void,
         uniformFromWords: @escaping @Sendable (UnsafeMutableBufferPointer<Float>, Float, Float) -> Void,
         captureWords: @escaping @Sendable (inout MT19937, UnsafeMutableRawPointer, Int) -> Void,
         twist: @escaping @Sendable (UnsafeMutablePointer<UInt32>, Int) -> Void) {
        self.capability = capability
        self.normalBlocks = normalBlocks
        self.normalBlocksFromWords = normalBlocksFromWords
        self.uniform = uniform
        self.uniformFromWords = uniformFromWords
        self.captureWords = captureWords
        self.twist = twist
    }

    /// The table of this module's loops, compiled in the module this is inlined into (with that target's CPU flags):
    /// the loops are `@inlinable @inline(__always)` down to the lanes and constants. `Build` is a type of the calling
    /// module: the closures are specialized for it, so their symbols are that module's own (non-generic closures of
    /// an inlinable function would be one symbol per program, and the linker would keep just one build of them).
    @inlinable @inline(__always)
    public static func build<Build>(for _: Build.Type, capability: String) -> CPUKernels {
        CPUKernels(
            capability: capability,
            normalBlocks: { out, mean, std, e in Distributions.normalBlocksLoop(out, mean: mean, std: std, &e, Build.self) },
            normalBlocksFromWords: { out, mean, std in
                Distributions.normalBlocksFromWordsLoop(out, mean: mean, std: std, Build.self)
            },
            uniform: { out, from, to, e in Distributions.uniformLoop(out, from: from, to: to, &e, Build.self) },
            uniformFromWords: { out, from, to in Distributions.uniformFromWordsLoop(out, from: from, to: to, Build.self) },
            captureWords: { e, out, count in e.captureWords(out, count, Build.self) },
            twist: { s, count in MT19937.twist8(s, times: count, Build.self) })
    }

    /// This module's build: AVX2 + FMA.
    public static let avx2 = build(for: AVX2Build.self, capability: "avx2")
    enum AVX2Build {}

    /// The table the fills use. Set once at startup, before any generation (`TorchRandomAVX512.CPUCapability`).
    nonisolated(unsafe) public static var active = avx2
}
