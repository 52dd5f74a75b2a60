import Model
import TorchInit
import TorchRandom

extension InitRequest.MKLPath {
    /// The erfinv this path computes (nil: a torch without MKL, not reproduced).
    var erfinvPath: ErfinvMKL.Path? {
        switch self {
        case .sse4_2: .sse4_2
        case .avx2: .avx2
        case .avx512: .avx512
        case .other: nil
        }
    }

    /// The erfinv the generation uses: the path's, SSE4.2 for "other" (whose erfinv inits `Plan.make` refuses).
    var erfinv: ErfinvMKL.Path { erfinvPath ?? .sse4_2 }

    /// The torch function computed with Intel MKL in `write` that this path does not reproduce, nil when the values
    /// of `write` are reproduced on it. `float64`: the written storage is float64, whose trunc-normal runs MKL's
    /// `vmdErfInv`, not swept on the AVX2 and AVX-512 paths (only float32's `vmsErfInv` is).
    func unreproducedInit(_ write: TensorWrite, float64: Bool) -> String? {
        switch write {
        case .fill(.mmengineTruncNormal), .windowFill(.mmengineTruncNormal, _):
            erfinvPath == nil ? "erfinv_ (trunc_normal by the erfinv method)"
                : float64 && self != .sse4_2 ? "erfinv_ on a float64 tensor (trunc_normal by the erfinv method)" : nil
        case .scalar(.erfinv, _): erfinvPath == nil ? "erfinv_" : nil
        case .fill(.orthogonal), .windowFill(.orthogonal, _): self == .sse4_2 ? nil : "orthogonal_ (QR)"
        default: nil
        }
    }

    static func refusal(_ path: Self, what: String, tensor: String) -> String {
        let reference = path == .other ? "a torch without Intel MKL (\"mkl\": \"other\")"
            : "Intel MKL's \(path.rawValue) code path (\"mkl\": \"\(path.rawValue)\", torch on an Intel CPU)"
        return "'\(tensor)' is initialized by \(what), whose values differ between \(reference) and MKL's SSE4.2 code "
            + "path, the only one this service reproduces for it (MKL's path on AMD CPUs); run the reference torch with "
            + "MKL_ENABLE_INSTRUCTIONS=SSE4_2 (its values are then the ones served) and send \"mkl\": \"sse4_2\", or "
            + "use another init for this tensor"
    }
}
