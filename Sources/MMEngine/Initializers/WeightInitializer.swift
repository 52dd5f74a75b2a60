import JSON
import Model
import TorchInit

/// One of MMEngine's registered weight initializers, built from its cfg.
protocol WeightInitializer: Sendable {
    /// "KaimingInit"
    var className: String { get }
    var base: BaseInit { get }
    /// The init-info string (`_get_init_info`).
    var info: String { get }
    /// The module init function it calls (`kaiming_init`), and its arguments, for the report.
    var functionName: String { get }
    var reportArguments: JSONObject { get }
    /// Checks the init function makes before touching the module (e.g. kaiming_init's distribution assert).
    func precheck() throws(TorchError)
    /// What the init function writes into `module.weight` of this shape.
    func weightFill(shape: [Int]) throws(TorchError) -> TensorFill?
}

extension WeightInitializer {
    func precheck() throws(TorchError) {}
}

/// `assert distribution in ['uniform', 'normal']` in kaiming_init/xavier_init.
func checkDistribution(_ d: String) throws(TorchError) {
    if d != "uniform" && d != "normal" { throw TorchError("AssertionError", "") }
}

/// Reads an initializer's own arguments from its cfg, Python-style.
struct InitArguments {
    let cfg: JSONObject
    let className: String
    let pointer: JSONPointer

    func number(_ name: String, _ def: JSONValue) throws(ModelError) -> JSONValue {
        guard let v = cfg[name] else { return def }
        guard isPythonNumber(v) else {
            throw .invalid(pointer / name, "\(className) argument '\(name)' must be a number, got \(v.typeName)")
        }
        return v
    }

    func string(_ name: String, _ def: String) throws(ModelError) -> String {
        guard let v = cfg[name] else { return def }
        guard case .string(let s) = v else {
            throw .invalid(pointer / name, "\(className) argument '\(name)' must be a string, got \(v.typeName)")
        }
        return s
    }

    /// Unknown keywords raise TypeError at `__init__`, as Python reports them.
    func onlyKeys(_ own: [String], base: Bool = true) throws(ModelError) {
        let allowed = own + (base ? BaseInit.argumentNames : []) + ["type"]
        for key in cfg.keys where !allowed.contains(key) {
            let owner = base ? "BaseInit" : className
            throw buildError(className, "TypeError", "\(owner).__init__() got an unexpected keyword argument '\(key)'", at: pointer / key)
        }
    }
}

func num(_ v: JSONValue) -> Double { pythonNumber(v) ?? 0 }
