import ArgumentParser
import Engine
import Foundation

/// `--cpu-capability` / `WEIGHTINIT_CPU_CAPABILITY` for `serve` and `init`: which build of the random kernels runs.
enum CPUCapabilityOption {
    static let help: ArgumentHelp = "Build of the random kernels: auto (the widest this CPU runs), avx2 or avx512; the bytes are the same. [env: WEIGHTINIT_CPU_CAPABILITY] (default: auto)"

    /// Installs the flag's capability, else the environment's, else the widest; returns the one installed.
    static func install(_ flag: String?) throws -> String {
        let requested = flag ?? ProcessInfo.processInfo.environment["WEIGHTINIT_CPU_CAPABILITY"]
        do {
            return try GenerationThreads.useCPUCapability(requested)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
