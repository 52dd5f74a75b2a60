/// Bounds on a program, which the service treats as untrusted input (docs/programs.md, "Limits").
public struct ProgramLimits: Sendable {
    public var maxOps = 1_000_000
    public var maxStorages = 1_000_000
    public var maxEntries = 1_000_000
    public var maxModules = 1_000_000
    public var maxDimensions = 64
    public var maxStorageElements = 1 << 48
    public var maxLiteralBytes = 256 << 20
    /// Copies of copies (`b.copy_(a)`, `c.copy_(b)`, ...): the replay evaluates a copy's source first, so the chain's
    /// length is bounded (a traced model's chains are a few long: a temporary, `.to(dtype)`, `clone()`).
    public var maxCopyDepth = 128

    public init() {}
}
