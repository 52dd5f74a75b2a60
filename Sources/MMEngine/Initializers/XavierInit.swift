import JSON
import Model
import TorchInit

/// `Xavier`: `xavier_init(m, gain, bias, distribution)`.
struct XavierInit: WeightInitializer {
    let className = "XavierInit"
    let base: BaseInit
    let gain: JSONValue
    let distribution: String

    init(_ cfg: JSONObject, at pointer: JSONPointer) throws(ModelError) {
        let args = InitArguments(cfg: cfg, className: className, pointer: pointer)
        try args.onlyKeys(["gain", "distribution"])
        gain = try args.number("gain", 1)
        distribution = try args.string("distribution", "normal")
        base = try BaseInit(cfg, className: className, at: pointer)
    }

    var info: String { "XavierInit: gain=\(pythonStr(gain)), distribution=\(distribution), bias=\(pythonStr(base.bias))" }
    var functionName: String { "xavier_init" }
    var reportArguments: JSONObject { ["gain": gain, "distribution": .string(distribution), "bias": base.bias] }
    func precheck() throws(TorchError) { try checkDistribution(distribution) }
    func weightFill(shape: [Int]) throws(TorchError) -> TensorFill? {
        try xavierFansCheck(shape)
        return distribution == "uniform"
            ? try TorchInit.xavierUniform(shape: shape, gain: num(gain)) : try TorchInit.xavierNormal(shape: shape, gain: num(gain))
    }
}
