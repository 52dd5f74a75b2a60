import JSON
import Model
import TorchInit

/// `Constant`: `constant_init(m, val, bias)`.
struct ConstantInit: WeightInitializer {
    let className = "ConstantInit"
    let base: BaseInit
    let val: JSONValue

    init(_ cfg: JSONObject, at pointer: JSONPointer) throws(ModelError) {
        let args = InitArguments(cfg: cfg, className: className, pointer: pointer)
        try args.onlyKeys(["val"])
        guard cfg["val"] != nil else {
            throw buildError(className, "TypeError", "ConstantInit.__init__() missing 1 required positional argument: 'val'", at: pointer)
        }
        val = try args.number("val", 0)
        base = try BaseInit(cfg, className: className, at: pointer)
    }

    var info: String { "ConstantInit: val=\(pythonStr(val)), bias=\(pythonStr(base.bias))" }
    var functionName: String { "constant_init" }
    var reportArguments: JSONObject { ["val": val, "bias": base.bias] }
    func weightFill(shape: [Int]) throws(TorchError) -> TensorFill? { .constant(num(val)) }
}
