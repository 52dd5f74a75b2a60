#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tensors
import TorchRandom

/// A Python exception as torch would raise it.
public struct TorchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Python exception class, e.g. "ValueError".
    public var type: String
    /// The exact text torch raises.
    public var message: String
    public init(_ type: String, _ message: String) {
        self.type = type
        self.message = message
    }
    public var description: String { "\(type): \(message)" }
}

/// What one torch.nn.init call does to one tensor, its scalars already computed with torch's exact double arithmetic.
public enum TensorFill: Sendable, Equatable {
    case constant(Double)
    case uniform(from: Double, to: Double)
    case normal(mean: Double, std: Double)
    /// `mmengine.model.weight_init.trunc_normal_` (erfinv method; a/b absolute bounds).
    case mmengineTruncNormal(mean: Double, std: Double, a: Double, b: Double)
    case orthogonal(gain: Double)
}

/// torch.nn.init (torch 2.15) scalar logic.
public enum TorchInit {
    /// `torch.nn.init._calculate_fan_in_and_fan_out`.
    public static func fans(_ shape: [Int]) throws(TorchError) -> (fanIn: Int, fanOut: Int) {
        guard shape.count >= 2 else {
            throw TorchError("ValueError", "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
        }
        var receptive = 1
        for s in shape.dropFirst(2) { receptive *= s }
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// `torch.nn.init._calculate_correct_fan` (mode is lower-cased first, as in torch).
    public static func correctFan(_ shape: [Int], mode: String) throws(TorchError) -> Int {
        let m = mode.lowercased()
        guard m == "fan_in" || m == "fan_out" else {
            throw TorchError("ValueError", "Mode \(m) not supported, please use one of ['fan_in', 'fan_out']")
        }
        let f = try fans(shape)
        return m == "fan_in" ? f.fanIn : f.fanOut
    }

    /// `torch.nn.init.calculate_gain(nonlinearity, param)`; `param` nil = Python None.
    public static func calculateGain(_ nonlinearity: String, param: Double?) throws(TorchError) -> Double {
        switch nonlinearity {
        case "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid":
            return 1
        case "tanh":
            return 5.0 / 3
        case "relu":
            return sqrt(2.0)
        case "leaky_relu":
            let ns = param ?? 0.01
            return sqrt(2.0 / (1 + pow(ns, 2)))
        case "selu":
            return 3.0 / 4
        default:
            break
        }
        throw TorchError("ValueError", "Unsupported nonlinearity \(nonlinearity)")
    }

    /// `kaiming_uniform_`: nil for a zero-element tensor (torch warns and draws nothing).
    public static func kaimingUniform(shape: [Int], a: Double, mode: String, nonlinearity: String) throws(TorchError) -> TensorFill? {
        if shape.contains(0) { return nil }
        let fan = try correctFan(shape, mode: mode)
        let gain = try calculateGain(nonlinearity, param: a)
        let std = gain / sqrt(Double(fan))
        let bound = sqrt(3.0) * std
        return .uniform(from: -bound, to: bound)
    }

    /// `kaiming_normal_`: nil for a zero-element tensor.
    public static func kaimingNormal(shape: [Int], a: Double, mode: String, nonlinearity: String) throws(TorchError) -> TensorFill? {
        if shape.contains(0) { return nil }
        let fan = try correctFan(shape, mode: mode)
        let gain = try calculateGain(nonlinearity, param: a)
        let std = gain / sqrt(Double(fan))
        return .normal(mean: 0, std: std)
    }

    static func xavierStd(_ shape: [Int], _ gain: Double) throws(TorchError) -> Double {
        let f = try fans(shape)
        let denom = Double(f.fanIn + f.fanOut)
        if denom == 0 { throw TorchError("ZeroDivisionError", "float division by zero") }
        return gain * sqrt(2.0 / denom)
    }

    /// `xavier_uniform_` (no zero-size guard in torch; fan_in + fan_out == 0 raises ZeroDivisionError).
    public static func xavierUniform(shape: [Int], gain: Double) throws(TorchError) -> TensorFill {
        let std = try xavierStd(shape, gain)
        let a = sqrt(3.0) * std
        return .uniform(from: -a, to: a)
    }

    /// `xavier_normal_`.
    public static func xavierNormal(shape: [Int], gain: Double) throws(TorchError) -> TensorFill {
        let std = try xavierStd(shape, gain)
        return .normal(mean: 0.0, std: std)
    }

    /// `orthogonal_`: dim < 2 raises; an empty tensor is a no-op (nil).
    public static func orthogonal(shape: [Int], gain: Double) throws(TorchError) -> TensorFill? {
        guard shape.count >= 2 else {
            throw TorchError("ValueError", "Only tensors with 2 or more dimensions are supported")
        }
        if numel(shape) == 0 { return nil }
        return .orthogonal(gain: gain)
    }

    /// The Linear/Conv default: `kaiming_uniform_(w, a=math.sqrt(5))` (fan_in, leaky_relu).
    public static func defaultWeight(shape: [Int]) throws(TorchError) -> TensorFill? {
        try kaimingUniform(shape: shape, a: sqrt(5.0), mode: "fan_in", nonlinearity: "leaky_relu")
    }

    /// The Linear/Conv default bias bound `1 / math.sqrt(fan_in) if fan_in > 0 else 0`.
    public static func defaultBiasBound(fanIn: Int) -> Double {
        fanIn > 0 ? 1 / sqrt(Double(fanIn)) : 0
    }

    /// `mmengine.model.weight_init.trunc_normal_(tensor, mean, std, a, b)`: the fill, plus whether MMEngine warns
    /// ("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The distribution of values may be incorrect.").
    public static func mmengineTruncNormal(mean: Double, std: Double, a: Double, b: Double) -> (fill: TensorFill, warns: Bool) {
        let warns = (mean < a - 2 * std) || (mean > b + 2 * std)
        return (.mmengineTruncNormal(mean: mean, std: std, a: a, b: b), warns)
    }
}
