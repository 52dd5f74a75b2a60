import JSON
import Model

/// What `model.init_weights()` did: MMEngine's init-info per parameter and the Pretrained results.
public struct InitWeightsResult: Sendable {
    /// Per parameter tensor: the string MMEngine logs (empty when the root has no `init_weights`).
    public var info: [Int: String]
    public var pretrained: [PretrainedResult]
}

/// `BaseModule.init_weights()` over the module tree, symbolically: writes go to the timeline.
public enum MMEngineInit {
    public static func run(_ root: Module, timeline: Timeline, builder: ModelBuilder, pretrained: PretrainedLoader?) throws(ModelError) -> InitWeightsResult {
        guard root.hasInitWeights else { return InitWeightsResult(info: [:], pretrained: []) }
        let ctx = InitContext(root: root, timeline: timeline, pretrained: pretrained)
        ctx.startTracking()
        var initialized = Set<ObjectIdentifier>()
        try ctx.baseInitWeights(root, &initialized)
        // The dump happens at the end of the top-level BaseModule.init_weights; the root's own steps come after.
        let info = ctx.info.mapValues(\.text)
        try ctx.runSteps(of: root, builder: builder)
        return InitWeightsResult(info: info, pretrained: ctx.pretrainedResults)
    }
}

extension InitContext {
    /// The body of `BaseModule.init_weights` for one module.
    func baseInitWeights(_ m: Module, _ initialized: inout Set<ObjectIdentifier>) throws(ModelError) {
        let cfgPointer = m.pointer / "init_cfg"
        var others: [(JSONObject, JSONPointer)] = []
        var pretrainedCfgs: [(JSONObject, JSONPointer)] = []
        if let cfg = m.initCfg, isTruthy(cfg) {
            let items: [(JSONValue, JSONPointer)]
            switch cfg {
            case .array(let list): items = list.enumerated().map { ($1, cfgPointer / $0) }
            case .object: items = [(cfg, cfgPointer)]
            case .string(let s): items = s.map { (.string(String($0)), cfgPointer) }
            default: throw .rejected(cfgPointer, "TypeError: '\(pythonType(cfg).dropFirst(8).dropLast(2))' object is not iterable")
            }
            for (item, at) in items {
                guard case .object(let o) = item else { throw .rejected(at, "AssertionError: init_cfg must be a dict or a list of dicts") }
                guard let t = o["type"] else { throw .rejected(at, "KeyError: 'type'") }
                if t == .string("Pretrained") { pretrainedCfgs.append((o, at)) } else { others.append((o, at)) }
            }
            try initialize(m, others)
        }
        for (_, child) in m.children where child.hasInitWeights && !initialized.contains(ObjectIdentifier(child)) {
            try baseInitWeights(child, &initialized)
            try runSteps(of: child, builder: nil)
            updateInitInfo(child, "Initialized by user-defined `init_weights` in \(child.className) ")
        }
        if !pretrainedCfgs.isEmpty {
            try initialize(m, pretrainedCfgs)
        }
        initialized.insert(ObjectIdentifier(m))
    }

    /// Python truthiness of the stored init_cfg.
    private func isTruthy(_ v: JSONValue) -> Bool {
        switch v {
        case .null: false
        case .bool(let b): b
        case .int(let i): i != 0
        case .double(let d): d != 0
        case .string(let s): !s.isEmpty
        case .array(let a): !a.isEmpty
        case .object(let o): !o.isEmpty
        }
    }
}
