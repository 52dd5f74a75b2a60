import Foundation
import JSON
import Tensors
import TorchInit

/// A tensor initializer from the spec (`parameters.*.init`, `init_weights` `param` steps):
/// one `torch.nn.init` call on one tensor, with MMEngine-style defaults as the oracle applies them.
public struct TensorInitializer: Sendable {
    public static let types = ["Constant", "Zeros", "Ones", "Normal", "Uniform", "TruncNormal", "Xavier", "Kaiming", "Orthogonal"]
    static let arguments: [String: [String]] = [
        "Constant": ["val"], "Zeros": [], "Ones": [], "Normal": ["mean", "std"], "Uniform": ["a", "b"],
        "TruncNormal": ["mean", "std", "a", "b"], "Xavier": ["gain", "distribution"],
        "Kaiming": ["a", "mode", "nonlinearity", "distribution"], "Orthogonal": ["gain"],
    ]

    public let type: String
    public let config: JSONObject
    public let pointer: JSONPointer

    /// Parses `{"type": ..., args}`; `extraKeys` are keys the caller owns (e.g. "param").
    public init(_ object: JSONObject, at pointer: JSONPointer, extraKeys: Set<String> = []) throws(ModelError) {
        guard let typeValue = object["type"] else {
            throw .invalid(pointer, "a tensor initializer needs \"type\", one of \(TensorInitializer.types.joined(separator: ", "))")
        }
        guard case .string(let type) = typeValue, let allowed = TensorInitializer.arguments[type] else {
            let name = typeValue.stringValue ?? "\(typeValue)"
            let hint = closestName(to: name, in: TensorInitializer.types).map { " (did you mean '\($0)'?)" } ?? ""
            throw .invalid(pointer / "type", "unknown tensor initializer '\(name)'\(hint); known: \(TensorInitializer.types.joined(separator: ", "))")
        }
        for key in object.keys where key != "type" && !extraKeys.contains(key) && !allowed.contains(key) {
            let hint = closestName(to: key, in: allowed).map { " (did you mean '\($0)'?)" } ?? ""
            throw .invalid(pointer / key, "\(type) takes no argument '\(key)'\(hint)")
        }
        for key in allowed {
            guard let v = object[key] else { continue }
            let isString = ["distribution", "mode", "nonlinearity"].contains(key)
            if isString ? v.stringValue == nil : v.numberValue == nil {
                throw .invalid(pointer / key, "\(type) argument '\(key)' must be a \(isString ? "string" : "number"), got \(v.typeName)")
            }
        }
        self.type = type
        self.config = object
        self.pointer = pointer
    }

    private func number(_ key: String, _ def: Double) -> Double { config[key]?.numberValue ?? def }
    private func string(_ key: String, _ def: String) -> String { config[key]?.stringValue ?? def }

    /// The `torch.nn.init` function called and its arguments, for the report.
    public var functionName: String {
        switch type {
        case "Constant": "constant_"
        case "Zeros": "zeros_"
        case "Ones": "ones_"
        case "Normal": "normal_"
        case "Uniform": "uniform_"
        case "TruncNormal": "trunc_normal_"
        case "Xavier": string("distribution", "normal") == "uniform" ? "xavier_uniform_" : "xavier_normal_"
        case "Kaiming": string("distribution", "normal") == "uniform" ? "kaiming_uniform_" : "kaiming_normal_"
        default: "orthogonal_"
        }
    }

    public var reportArguments: JSONObject {
        JSONObject(config.entries.filter { TensorInitializer.arguments[type]!.contains($0.key) })
    }

    /// Resolves the call on a tensor of `shape` (nil: torch does nothing, e.g. kaiming on an empty tensor).
    public func fill(shape: [Int]) throws(ModelError) -> TensorFill? {
        do {
            switch type {
            case "Constant": return .constant(number("val", 0))
            case "Zeros": return .constant(0)
            case "Ones": return .constant(1)
            case "Normal": return try checkedNormal(mean: number("mean", 0), std: number("std", 1))
            case "Uniform": return try checkedUniform(number("a", 0), number("b", 1))
            case "TruncNormal":
                return try checkedTruncNormal(mean: number("mean", 0), std: number("std", 1), a: number("a", -2), b: number("b", 2))
            case "Xavier":
                let gain = number("gain", 1)
                try xavierFansCheck(shape)
                return string("distribution", "normal") == "uniform"
                    ? try TorchInit.xavierUniform(shape: shape, gain: gain) : try TorchInit.xavierNormal(shape: shape, gain: gain)
            case "Kaiming":
                let a = number("a", 0)
                let mode = string("mode", "fan_out")
                let nl = string("nonlinearity", "relu")
                return string("distribution", "normal") == "uniform"
                    ? try TorchInit.kaimingUniform(shape: shape, a: a, mode: mode, nonlinearity: nl)
                    : try TorchInit.kaimingNormal(shape: shape, a: a, mode: mode, nonlinearity: nl)
            default:
                return try TorchInit.orthogonal(shape: shape, gain: number("gain", 1))
            }
        } catch {
            throw .rejected(pointer, error.description)
        }
    }
}

/// torch's own argument checks for the random fills, with its messages.
public func checkedNormal(mean: Double, std: Double) throws(TorchError) -> TensorFill {
    if !(std >= 0) { throw TorchError("RuntimeError", "normal expects std >= 0.0, but found std \(pythonFloat(std))") }
    return .normal(mean: mean, std: std)
}

public func checkedUniform(_ a: Double, _ b: Double) throws(TorchError) -> TensorFill {
    // uniform_ compares the Python floats as doubles: (1.0000000001, 1.0) raises although both round to 1.0f.
    if a > b {
        throw TorchError("RuntimeError", "uniform_ expects to return a [from, to) range, but found from=\(pythonFloat(a)) > to=\(pythonFloat(b))")
    }
    return .uniform(from: a, to: b)
}

/// torch's checks of a fill's arguments against the tensor's dtype, made before any empty-tensor early return:
/// a constant must fit the dtype (`value cannot be converted to type float without overflow`; inf and NaN pass),
/// and uniform_ needs both bounds representable and `to - from` not overflowing.
public func checkFillArguments(_ fill: TensorFill, dtype: DType) throws(TorchError) {
    switch fill {
    case .constant(let v):
        try checkFillValue(v, dtype: dtype)
    case .uniform(let from, let to):
        guard dtype == .float32 || dtype == .float64 else { return }
        let limit = dtype == .float32 ? Double(Float.greatestFiniteMagnitude) : Double.greatestFiniteMagnitude
        let name = dtype == .float32 ? "float" : "double"
        if !(abs(from) <= limit) { throw TorchError("RuntimeError", "from is out of bounds for \(name)") }
        if !(abs(to) <= limit) { throw TorchError("RuntimeError", "to is out of bounds for \(name)") }
        if !(to - from <= limit) {
            throw TorchError("RuntimeError", "uniform_ expects to-from <= std::numeric_limits<\(dtype == .float32 ? "Float" : "Double")>::max(), but found to=\(pythonFloat(to)) and from=\(pythonFloat(from)) which result in to-from to exceed the limit")
        }
    default:
        return
    }
}

/// `fill_(value)` / `torch.full(..., value)`: c10's `overflows<T>(value)` test.
public func checkFillValue(_ v: Double, dtype: DType) throws(TorchError) {
    if v.isNaN || v.isInfinite { return }
    let (lowest, highest, name): (Double, Double, String) = switch dtype {
    case .float16: (-65504, 65504, "c10::Half")
    case .bfloat16: (-0x1.fep127, 0x1.fep127, "c10::BFloat16")
    case .float32: (-Double(Float.greatestFiniteMagnitude), Double(Float.greatestFiniteMagnitude), "float")
    case .float64: (-Double.greatestFiniteMagnitude, Double.greatestFiniteMagnitude, "double")
    case .int64: (-0x1p63, 0x1p63.nextDown, "int64_t")
    case .int32: (-2147483648, 2147483647, "int")
    case .bool: (-.infinity, .infinity, "bool")
    }
    if v < lowest || v > highest {
        throw TorchError("RuntimeError", "value cannot be converted to type \(name) without overflow")
    }
}

/// MMEngine's trunc_normal_ divides by std in Python, then draws
/// `uniform_(2·cdf((a − mean)/std) − 1, 2·cdf((b − mean)/std) − 1)`: with b < a or a negative std
/// that range is reversed and uniform_ raises.
public func checkedTruncNormal(mean: Double, std: Double, a: Double, b: Double) throws(TorchError) -> TensorFill {
    if std == 0 { throw TorchError("ZeroDivisionError", "float division by zero") }
    func normCDF(_ x: Double) -> Double { (1.0 + erf(x / 2.0.squareRoot())) / 2.0 }
    _ = try checkedUniform(2 * normCDF((a - mean) / std) - 1, 2 * normCDF((b - mean) / std) - 1)
    return .mmengineTruncNormal(mean: mean, std: std, a: a, b: b)
}

/// xavier_* computes sqrt(2.0 / float(fan_in + fan_out)) in Python.
public func xavierFansCheck(_ shape: [Int]) throws(TorchError) {
    let fans = try TorchInit.fans(shape)
    if fans.fanIn + fans.fanOut == 0 { throw TorchError("ZeroDivisionError", "float division by zero") }
}
