import JSON
import Model
import TorchInit

/// `Uniform`: `uniform_init(m, a, b, bias)`.
struct UniformInit: WeightInitializer {
    let className = "UniformInit"
    let base: BaseInit
    let a: JSONValue
    let b: JSONValue

    init(_ cfg: JSONObject, at pointer: JSONPointer) throws(ModelError) {
        let args = InitArguments(cfg: cfg, className: className, pointer: pointer)
        try args.onlyKeys(["a", "b"])
        a = try args.number("a", 0)
        b = try args.number("b", 1)
        base = try BaseInit(cfg, className: className, at: pointer)
    }

    var info: String { "UniformInit: a=\(pythonStr(a)), b=\(pythonStr(b)), bias=\(pythonStr(base.bias))" }
    var functionName: String { "uniform_init" }
    var reportArguments: JSONObject { ["a": a, "b": b, "bias": base.bias] }
    func weightFill(shape: [Int]) throws(TorchError) -> TensorFill? { try checkedUniform(num(a), num(b)) }
}
