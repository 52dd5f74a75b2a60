import Model
import TorchInit

extension InitRequest.MKLPath {
    /// The torch function computed with Intel MKL in `write`, nil when its values do not depend on MKL.
    static func dependentInit(_ write: TensorWrite) -> String? {
        switch write {
        case .fill(.mmengineTruncNormal), .windowFill(.mmengineTruncNormal, _): "erfinv_ (trunc_normal by the erfinv method)"
        case .fill(.orthogonal), .windowFill(.orthogonal, _): "orthogonal_ (QR)"
        case .scalar(.erfinv, _): "erfinv_"
        default: nil
        }
    }

    static func refusal(_ path: Self, what: String, tensor: String) -> String {
        let reference = path == .other ? "a torch without Intel MKL (\"mkl\": \"other\")"
            : "Intel MKL's \(path.rawValue) code path (\"mkl\": \"\(path.rawValue)\", torch on an Intel CPU)"
        return "'\(tensor)' is initialized by \(what), whose values differ between \(reference) and MKL's SSE4.2 code "
            + "path, the one this service reproduces (MKL's path on AMD CPUs); run the reference torch with "
            + "MKL_ENABLE_INSTRUCTIONS=SSE4_2 (its values are then the ones served) and send \"mkl\": \"sse4_2\", or "
            + "use another init for this tensor"
    }
}
