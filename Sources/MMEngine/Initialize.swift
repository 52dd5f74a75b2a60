import JSON
import Model
import TorchInit

/// `mmengine.model.weight_init.initialize` / `_initialize` / `_initialize_override`.
extension InitContext {
    /// `initialize(module, init_cfg)` for a list of (cfg, pointer).
    func initialize(_ module: Module, _ cfgs: [(JSONObject, JSONPointer)]) throws(ModelError) {
        for (cfg, pointer) in cfgs {
            var cp = cfg
            let override = cp["override"]
            cp["override"] = nil
            try initializeOne(module, cp, at: pointer, wholemodule: false, phase: "init_cfg")
            if let override {
                cp["layer"] = nil
                try initializeOverride(module, override, outer: cp, at: pointer / "override")
            }
        }
    }

    /// `_initialize(module, cfg, wholemodule)`: build from the registry and call.
    func initializeOne(_ module: Module, _ cfg: JSONObject, at pointer: JSONPointer, wholemodule: Bool, phase: String) throws(ModelError) {
        let type = try WeightInitRegistry.typeName(cfg, at: pointer)
        if type == "Pretrained" {
            try applyPretrained(PretrainedInit(cfg, at: pointer), to: module)
            return
        }
        let ini = try WeightInitRegistry.build(cfg, at: pointer)
        let origin = self.origin(ini.className, ini.reportArguments, phase: phase, at: pointer)
        for m in module.postOrder() where wholemodule || ini.base.matches(m) {
            try initModule(m, with: ini, origin: origin, at: pointer)
        }
        updateInitInfo(module, ini.info)
    }

    /// What `init(m)` does to one module: the init function on `m.weight`, then `constant_(m.bias, bias)`.
    func initModule(_ m: Module, with ini: any WeightInitializer, origin: Int, at pointer: JSONPointer) throws(ModelError) {
        do {
            try ini.precheck()
            switch m.weight {
            case .tensor(let t):
                let tensor = timeline.tensors[t]
                if let fill = try ini.weightFill(shape: tensor.shape) {
                    if fill.isRandom && tensor.dtype != .float32 && tensor.dtype != .float64 {
                        throw ModelError.invalid(pointer, "random initializers are supported on float32 and float64 tensors, not \(tensor.dtype.rawValue) (\(tensor.name))")
                    }
                    try checkFillArguments(fill, dtype: tensor.dtype)
                    record(fill, on: t, origin: origin)
                }
            case .module:
                throw TorchError("AttributeError", "'\(m.child(named: "weight")?.className ?? "Module")' object has no attribute 'dim'")
            case .absent, .none, .bool:
                break
            }
            switch m.bias {
            case .tensor(let t):
                try checkFillValue(ini.base.biasValue, dtype: timeline.tensors[t].dtype)
                record(.constant(ini.base.biasValue), on: t, origin: origin)
            case .bool:
                throw TorchError("AttributeError", "'bool' object has no attribute 'fill_'")
            case .module:
                throw TorchError("AttributeError", "'\(m.child(named: "bias")?.className ?? "Module")' object has no attribute 'fill_'")
            case .absent, .none:
                break
            }
        } catch let e as TorchError {
            throw .rejected(pointer, e.description + (m.path.isEmpty ? "" : " (while initializing '\(m.path)', a \(m.className))"))
        } catch let e as ModelError {
            throw e
        } catch {
            throw .rejected(pointer, "\(error)")
        }
    }

    /// `_initialize_override(module, override, cfg)`.
    func initializeOverride(_ module: Module, _ override: JSONValue, outer: JSONObject, at pointer: JSONPointer) throws(ModelError) {
        var items: [(JSONValue, JSONPointer)]
        switch override {
        case .object: items = [(override, pointer)]
        case .array(let list): items = list.enumerated().map { ($1, pointer / $0) }
        default:
            throw .rejected(pointer, "TypeError: override must be a dict or a list of dict, but got \(pythonType(override))")
        }
        for (item, at) in items {
            guard case .object(var cp) = item else {
                throw .rejected(at, "AttributeError: '\(pythonType(item).dropFirst(8).dropLast(2))' object has no attribute 'pop'")
            }
            let name = cp["name"]
            cp["name"] = nil
            guard let name, name != .null else {
                throw .rejected(at, "ValueError: `override` must contain the key \"name\",but got \(pythonRepr(.object(cp)))")
            }
            if cp.isEmpty {
                cp = outer
            } else if cp["type"] == nil {
                throw .rejected(at, "ValueError: `override` need \"type\" key, but got \(pythonRepr(.object(cp)))")
            }
            guard case .string(let attr) = name else {
                throw .rejected(at / "name", "TypeError: attribute name must be string, not '\(pythonType(name).dropFirst(8).dropLast(2))'")
            }
            switch module.attribute(attr) {
            case .absent:
                let hint = closestName(to: attr, in: module.children.map(\.name)).map { " (did you mean '\($0)'?)" } ?? ""
                throw .rejected(at / "name", "RuntimeError: module did not have attribute \(attr), but init_cfg is \(pythonRepr(.object(cp))).\(hint)")
            case .module:
                try initializeOne(module.child(named: attr)!, cp, at: at, wholemodule: true, phase: "override")
            case .tensor, .none, .bool:
                throw .rejected(at / "name", "AttributeError: '\(attr)' of \(module.className) is not a module, so it has no attribute 'apply'")
            }
        }
    }
}
