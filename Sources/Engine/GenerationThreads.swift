import TorchRandom
import TorchRandomAVX512

/// Threads one request's generation may use (`--workers`): large fills (normal_, uniform_, and the elementwise
/// trunc-normal transform) are split across them inside each chunk, each part starting from a skipped or
/// jumped-ahead generator, so the bytes are the same at every thread count and chunk size.
public enum GenerationThreads {
    /// 1 = serial. Set once at startup (the CLI and `serve` use `--workers`).
    public static var count: Int {
        get { ParallelFill.workers }
        set { ParallelFill.workers = max(1, newValue) }
    }
    /// Smallest fill that is split (tests lower it to split the small golden models).
    public static var minimumElements: Int {
        get { ParallelFill.minElements }
        set { ParallelFill.minElements = max(1, newValue) }
    }

    /// Installs the build of the float32 loops for `requested` ("avx2", "avx512"; nil or "auto": the widest this CPU
    /// runs) and returns its name. Same bytes with either; call it once at startup.
    public static func useCPUCapability(_ requested: String?) throws -> String { try CPUCapability.select(requested) }
}
