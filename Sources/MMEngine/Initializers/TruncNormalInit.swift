import JSON
import Model
import TorchInit

/// `TruncNormal`: `trunc_normal_init(m, mean, std, a, b, bias)` (MMEngine's erfinv method, absolute bounds).
struct TruncNormalInit: WeightInitializer {
    let className = "TruncNormalInit"
    let base: BaseInit
    let mean: JSONValue
    let std: JSONValue
    let a: JSONValue
    let b: JSONValue

    init(_ cfg: JSONObject, at pointer: JSONPointer) throws(ModelError) {
        let args = InitArguments(cfg: cfg, className: className, pointer: pointer)
        try args.onlyKeys(["mean", "std", "a", "b"])
        mean = try args.number("mean", 0)
        std = try args.number("std", 1)
        a = try args.number("a", -2)
        b = try args.number("b", 2)
        base = try BaseInit(cfg, className: className, at: pointer)
    }

    var info: String {
        "TruncNormalInit: a=\(pythonStr(a)), b=\(pythonStr(b)), mean=\(pythonStr(mean)), std=\(pythonStr(std)), bias=\(pythonStr(base.bias))"
    }
    var functionName: String { "trunc_normal_init" }
    var reportArguments: JSONObject { ["mean": mean, "std": std, "a": a, "b": b, "bias": base.bias] }
    func weightFill(shape: [Int]) throws(TorchError) -> TensorFill? {
        try checkedTruncNormal(mean: num(mean), std: num(std), a: num(a), b: num(b))
    }
}
