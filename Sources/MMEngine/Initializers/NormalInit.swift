import JSON
import Model
import TorchInit

/// `Normal`: `normal_init(m, mean, std, bias)`.
struct NormalInit: WeightInitializer {
    let className = "NormalInit"
    let base: BaseInit
    let mean: JSONValue
    let std: JSONValue

    init(_ cfg: JSONObject, at pointer: JSONPointer) throws(ModelError) {
        let args = InitArguments(cfg: cfg, className: className, pointer: pointer)
        try args.onlyKeys(["mean", "std"])
        mean = try args.number("mean", 0)
        std = try args.number("std", 1)
        base = try BaseInit(cfg, className: className, at: pointer)
    }

    var info: String { "NormalInit: mean=\(pythonStr(mean)), std=\(pythonStr(std)), bias=\(pythonStr(base.bias))" }
    var functionName: String { "normal_init" }
    var reportArguments: JSONObject { ["mean": mean, "std": std, "bias": base.bias] }
    func weightFill(shape: [Int]) throws(TorchError) -> TensorFill? { try checkedNormal(mean: num(mean), std: num(std)) }
}
