import JSON
import Model
import TorchInit

/// `BaseInit.__init__(*, bias=0, bias_prob=None, layer=None)`: what every initializer but Pretrained accepts.
struct BaseInit: Sendable {
    static let argumentNames = ["bias", "bias_prob", "layer"]

    /// `self.bias` as MMEngine prints it in init-info strings.
    var bias: JSONValue = .int(0)
    var biasValue: Double = 0
    var layer: [String] = []

    init(_ cfg: JSONObject, className: String, at pointer: JSONPointer) throws(ModelError) {
        if let b = cfg["bias"] {
            guard isPythonNumber(b) else {
                throw buildError(className, "TypeError", "bias must be a number, but got a \(pythonType(b))", at: pointer / "bias")
            }
            bias = b
            biasValue = pythonNumber(b)!
        }
        if let p = cfg["bias_prob"], p != .null {
            guard case .double(let prob) = p else {
                throw buildError(className, "TypeError", "bias_prob type must be float, but got \(pythonType(p))", at: pointer / "bias_prob")
            }
            guard let value = biasInitWithProb(prob) else {
                throw .rejected(pointer / "bias_prob", "ZeroDivisionError: float division by zero")
            }
            bias = .double(value)
            biasValue = value
        }
        if let l = cfg["layer"], l != .null {
            switch l {
            case .string(let s): layer = [s]
            case .array(let items):
                layer = items.map { $0.stringValue ?? pythonRepr($0) }
            default:
                throw buildError(className, "TypeError", "layer must be a str or a list of str, but got a \(pythonType(l))", at: pointer / "layer")
            }
        }
    }

    /// `set(self.layer) & set([layername] + basesname)`.
    func matches(_ m: Module) -> Bool {
        layer.contains(m.className) || m.baseNames.contains(where: layer.contains)
    }
}

/// MMEngine's `bias_init_with_prob`: `float(-np.log((1 - prior_prob) / prior_prob))`.
/// nil for a prior of 0: the division is Python float division, which raises ZeroDivisionError.
func biasInitWithProb(_ p: Double) -> Double? {
    if p == 0 { return nil }
    let odds = (1 - p) / p
    // A prior outside [0, 1] makes the odds negative: numpy's log returns +nan there (glibc's is -nan), and the
    // negation makes it -nan. The sign bit survives constant_ into the bias tensor.
    if odds < 0 { return -Double.nan }
    return -Foundation.log(odds)
}

/// An error raised while building an initializer from the registry: `build_from_cfg` prefixes the class location.
func buildError(_ className: String, _ type: String, _ message: String, at pointer: JSONPointer) -> ModelError {
    .rejected(pointer, "\(type): class `\(className)` in mmengine/model/weight_init.py: \(message)")
}

import Foundation
