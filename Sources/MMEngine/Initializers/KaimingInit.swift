import JSON
import Model
import TorchInit

/// `Kaiming` (and `Caffe2Xavier`, its subclass with fixed arguments):
/// `kaiming_init(m, a, mode, nonlinearity, bias, distribution)`. MMEngine's defaults differ from torch's.
struct KaimingInit: WeightInitializer {
    let className: String
    let base: BaseInit
    let a: JSONValue
    let mode: String
    let nonlinearity: String
    let distribution: String

    init(_ cfg: JSONObject, at pointer: JSONPointer) throws(ModelError) {
        className = "KaimingInit"
        let args = InitArguments(cfg: cfg, className: className, pointer: pointer)
        try args.onlyKeys(["a", "mode", "nonlinearity", "distribution"])
        a = try args.number("a", 0)
        mode = try args.string("mode", "fan_out")
        nonlinearity = try args.string("nonlinearity", "relu")
        distribution = try args.string("distribution", "normal")
        base = try BaseInit(cfg, className: className, at: pointer)
    }

    /// `Caffe2XavierInit(**kwargs)`: passes a=1, fan_in, leaky_relu, uniform to KaimingInit.
    init(caffe2Xavier cfg: JSONObject, at pointer: JSONPointer) throws(ModelError) {
        className = "Caffe2XavierInit"
        for key in ["a", "mode", "nonlinearity", "distribution"] where cfg[key] != nil {
            throw buildError(className, "TypeError", "KaimingInit.__init__() got multiple values for keyword argument '\(key)'", at: pointer / key)
        }
        try InitArguments(cfg: cfg, className: className, pointer: pointer).onlyKeys([])
        a = 1
        mode = "fan_in"
        nonlinearity = "leaky_relu"
        distribution = "uniform"
        base = try BaseInit(cfg, className: className, at: pointer)
    }

    var info: String {
        "\(className): a=\(pythonStr(a)), mode=\(mode), nonlinearity=\(nonlinearity), distribution =\(distribution), bias=\(pythonStr(base.bias))"
    }
    var functionName: String { className == "KaimingInit" ? "kaiming_init" : "caffe2_xavier_init" }
    var reportArguments: JSONObject {
        ["a": a, "mode": .string(mode), "nonlinearity": .string(nonlinearity), "distribution": .string(distribution), "bias": base.bias]
    }
    func precheck() throws(TorchError) { try checkDistribution(distribution) }
    func weightFill(shape: [Int]) throws(TorchError) -> TensorFill? {
        let fill = distribution == "uniform"
            ? try TorchInit.kaimingUniform(shape: shape, a: num(a), mode: mode, nonlinearity: nonlinearity)
            : try TorchInit.kaimingNormal(shape: shape, a: num(a), mode: mode, nonlinearity: nonlinearity)
        // calculate_gain('leaky_relu', a) rejects a bool slope (after the empty-tensor and fan checks);
        // the Double handed to TorchInit cannot tell True from 1.
        if fill != nil, nonlinearity == "leaky_relu", case .bool(let b) = a {
            throw TorchError("ValueError", "negative_slope \(b ? "True" : "False") not a valid number")
        }
        return fill
    }
}
