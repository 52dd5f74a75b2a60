#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TorchRandom

extension CPUKernels {
    /// The float32 loops compiled for AVX-512 (this target is built with `-target-cpu skylake-avx512` and 512-bit
    /// vectors preferred): 16 lanes per register and 32 registers, about 1.4× the AVX2 build's normal_.
    public static let avx512 = build(for: AVX512Build.self, capability: "avx512")
}

enum AVX512Build {}

/// Which build of the float32 loops this process runs, like ATen's `ATEN_CPU_CAPABILITY`: the widest this CPU
/// supports unless one is requested (`WEIGHTINIT_CPU_CAPABILITY`). The bytes are the same with either.
public enum CPUCapability {
    public struct Unsupported: Error, CustomStringConvertible {
        public let requested: String
        public var description: String {
            "CPU capability \"\(requested)\" is not available here (choose from: \(CPUCapability.available.joined(separator: ", ")))"
        }
    }

    /// The capabilities this CPU runs, narrowest first.
    public static var available: [String] { supportsAVX512 ? ["avx2", "avx512"] : ["avx2"] }

    /// Whether this CPU (and the kernel, which hides the flags when it does not save the AVX-512 state) has every
    /// feature the avx512 build uses: the `-target-cpu skylake-avx512` set F, CD, BW, DQ and VL.
    public static let supportsAVX512: Bool = {
        #if arch(x86_64) && os(Linux)
        guard let flags = cpuFlags() else { return false }
        return ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
        #else
        return false
        #endif
    }()

    /// Installs `requested` ("avx2" or "avx512"), or the widest available when nil or "auto"; returns its name.
    @discardableResult
    public static func select(_ requested: String?) throws -> String {
        let name = requested.map { $0.lowercased() }.flatMap { $0.isEmpty || $0 == "auto" ? nil : $0 }
            ?? available.last!
        guard available.contains(name) else { throw Unsupported(requested: requested ?? name) }
        CPUKernels.active = name == "avx512" ? CPUKernels.avx512 : CPUKernels.avx2
        return name
    }

    /// The first processor's flags in /proc/cpuinfo.
    static func cpuFlags() -> Set<Substring>? {
        guard let file = fopen("/proc/cpuinfo", "r") else { return nil }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(cString: line)
            guard text.hasPrefix("flags"), let colon = text.firstIndex(of: ":") else { continue }
            return Set(text[text.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\n" }))
        }
        return nil
    }
}
