import JSON
import Model
import TorchInit

/// The spec's user-defined `init_weights` steps, run after the node's `BaseModule.init_weights()`.
extension InitContext {
    static let moduleFunctions: [String: [String]] = [
        "constant_init": ["val", "bias"],
        "xavier_init": ["gain", "bias", "distribution"],
        "normal_init": ["mean", "std", "bias"],
        "trunc_normal_init": ["mean", "std", "a", "b", "bias"],
        "uniform_init": ["a", "b", "bias"],
        "kaiming_init": ["a", "mode", "nonlinearity", "bias", "distribution"],
        "caffe2_xavier_init": ["bias"],
    ]

    func runSteps(of m: Module, builder: ModelBuilder?) throws(ModelError) {
        let stepsPointer = m.pointer / "init_weights"
        for (i, step) in m.initWeightsSteps.enumerated() {
            let at = stepsPointer / i
            guard case .object(let o) = step else { throw .invalid(at, "an init_weights step must be an object") }
            if let p = o["param"] {
                guard case .string(let name) = p else { throw .invalid(at / "param", "param must be a dotted parameter name") }
                try paramStep(m, name, o, at: at)
            } else if let mod = o["module"] {
                guard case .string(let name) = mod else { throw .invalid(at / "module", "module must be a dotted submodule name") }
                try moduleStep(m, name, o, at: at)
            } else {
                throw .invalid(at, "an init_weights step needs \"param\" (a tensor initializer on one parameter) or \"module\" with \"fn\" (an MMEngine module init function)")
            }
        }
    }

    /// `tensor_init(self.get_parameter(name).data, step)`.
    private func paramStep(_ m: Module, _ name: String, _ o: JSONObject, at: JSONPointer) throws(ModelError) {
        var parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let leafName = parts.removeLast()
        let owner = try submodule(m, parts, at: at / "param")
        guard let t = owner.parameters.first(where: { $0.name == leafName })?.tensor else {
            if owner.buffers.contains(where: { $0.name == leafName }) || owner.child(named: leafName) != nil {
                throw .rejected(at / "param", "AttributeError: `\(leafName)` is not an nn.Parameter")
            }
            throw .rejected(at / "param", "AttributeError: \(owner.className) has no attribute `\(leafName)`")
        }
        var cfg = o
        cfg["param"] = nil
        let ini = try TensorInitializer(cfg, at: at)
        let tensor = timeline.tensors[t]
        guard let fill = try ini.fill(shape: tensor.shape) else { return }
        if fill.isRandom && tensor.dtype != .float32 && tensor.dtype != .float64 {
            throw .invalid(at, "random initializers are supported on float32 and float64 tensors, not \(tensor.dtype.rawValue)")
        }
        do { try checkFillArguments(fill, dtype: tensor.dtype) } catch { throw .rejected(at, error.description) }
        record(fill, on: t, origin: origin(ini.functionName, ini.reportArguments, phase: "init_weights", at: at))
    }

    /// `getattr(W, fn)(self.get_submodule(name), **args)`.
    private func moduleStep(_ m: Module, _ name: String, _ o: JSONObject, at: JSONPointer) throws(ModelError) {
        let target = try submodule(m, name.isEmpty ? [] : name.split(separator: ".", omittingEmptySubsequences: false).map(String.init), at: at / "module")
        guard case .string(let fn)? = o["fn"] else {
            throw .invalid(at / "fn", "fn must name one of \(InitContext.moduleFunctions.keys.sorted().joined(separator: ", "))")
        }
        guard let allowed = InitContext.moduleFunctions[fn] else {
            let hint = closestName(to: fn, in: Array(InitContext.moduleFunctions.keys)).map { " (did you mean '\($0)'?)" } ?? ""
            throw .rejected(at / "fn", "AttributeError: module 'mmengine.model.weight_init' has no attribute '\(fn)'\(hint)")
        }
        var args = JSONObject()
        for (key, value) in o.entries where !["module", "fn"].contains(key) {
            if key == "bias_prob" {
                guard let p = value.numberValue, p > 0, p < 1, let bias = biasInitWithProb(p) else {
                    throw .invalid(at / key, "bias_prob must be a probability in (0, 1)")
                }
                args["bias"] = .double(bias)
                continue
            }
            guard allowed.contains(key) else {
                throw .rejected(at / key, "TypeError: \(fn)() got an unexpected keyword argument '\(key)'")
            }
            if args[key] == nil { args[key] = value }
        }
        if fn == "constant_init" && args["val"] == nil {
            throw .rejected(at, "TypeError: constant_init() missing 1 required positional argument: 'val'")
        }
        if let b = args["bias"], !isPythonNumber(b) {
            throw .invalid(at / "bias", "bias must be a number")
        }
        args["type"] = .string(registryName(fn))
        let ini: any WeightInitializer = fn == "caffe2_xavier_init"
            ? try KaimingInit(caffe2Xavier: args, at: at)
            : try WeightInitRegistry.build(args, at: at)
        args["type"] = nil
        try initModule(target, with: ini, origin: origin(fn, args, phase: "init_weights", at: at), at: at)
    }

    private func registryName(_ fn: String) -> String {
        switch fn {
        case "constant_init": "Constant"
        case "xavier_init": "Xavier"
        case "normal_init": "Normal"
        case "trunc_normal_init": "TruncNormal"
        case "uniform_init": "Uniform"
        default: "Kaiming"
        }
    }

    /// `get_submodule(target)`.
    private func submodule(_ m: Module, _ parts: [String], at: JSONPointer) throws(ModelError) -> Module {
        var cur = m
        for p in parts {
            guard let c = cur.child(named: p) else {
                let hint = closestName(to: p, in: cur.children.map(\.name)).map { " (did you mean '\($0)'?)" } ?? ""
                throw .rejected(at, "AttributeError: \(cur.className) has no attribute `\(p)`\(hint)")
            }
            cur = c
        }
        return cur
    }
}
