import JSON
import Model

extension MMEngineInit {
    /// A request's `init_cfg` on a traced program (docs/programs.md): an object mapping a module path of the tree
    /// (`""` = the root) to an MMEngine `init_cfg` (a dict or a list of dicts). For each path, in the object's
    /// order, `mmengine.model.initialize(module.get_submodule(path), init_cfg)`, after the traced ops.
    ///
    /// `initialize` outside `BaseModule.init_weights` has no `_params_init_info` to update (the top-level
    /// `init_weights` deletes it when it dumps), so nothing here changes an init-info string.
    /// Returns what each Pretrained application loaded.
    public static func initialize(_ root: Module, timeline: Timeline, initCfg: JSONValue, at pointer: JSONPointer,
                                  pretrained: PretrainedLoader?) throws(ModelError) -> [PretrainedResult] {
        guard case .object(let byPath) = initCfg else {
            throw .invalid(pointer, "init_cfg must be an object mapping a module path of the program's modules (\"\" for the root) to an MMEngine init_cfg (a dict or a list of dicts), got \(initCfg.typeName)")
        }
        var modules: [String: Module] = [:]
        var paths: [String] = []
        for m in root.preOrder() where modules[m.path] == nil {
            modules[m.path] = m
            paths.append(m.path)
        }
        let ctx = InitContext(root: root, timeline: timeline, pretrained: pretrained)
        for (path, cfg) in byPath.entries {
            let at = pointer / path
            guard let module = modules[path] else {
                let hint = closestName(to: path, in: paths.filter { !$0.isEmpty })
                    .map { " (did you mean '\($0)'?)" } ?? ""
                throw .rejected(at, "AttributeError: \(root.className) has no submodule '\(path)'\(hint); init_cfg keys are module paths of the program's modules, \"\" for the root")
            }
            // `initialize(module, init_cfg)`: a dict or a list; each cfg deep-copied and `pop`ped.
            var cfgs: [(JSONObject, JSONPointer)] = []
            switch cfg {
            case .object(let o):
                cfgs = [(o, at)]
            case .array(let list):
                for (i, item) in list.enumerated() {
                    guard case .object(let o) = item else {
                        throw .rejected(at / i, "AttributeError: '\(pythonType(item).dropFirst(8).dropLast(2))' object has no attribute 'pop'")
                    }
                    cfgs.append((o, at / i))
                }
            default:
                throw .rejected(at, "TypeError: init_cfg must be a dict or a list of dict,                 but got \(pythonType(cfg))")
            }
            try ctx.initialize(module, cfgs)
        }
        return ctx.pretrainedResults
    }
}
