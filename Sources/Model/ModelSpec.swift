import JSON
import Tensors
import TorchInit

/// Builds the module tree from a spec node, recording construction-time init in constructor order
/// (the order `torchref.build` runs: a container's own parameters, its buffers, then its children).
public enum ModelSpec {
    /// Keys a node reserves; every other key of a leaf is a constructor argument.
    public static let reservedKeys = ["type", "init_cfg", "children", "parameters", "buffers", "bases", "init_weights"]

    /// The `torch.nn` types a spec may name as leaves.
    public static var leafTypes: [String] { LeafCatalog.names }

    public static func build(_ node: JSONValue, at pointer: JSONPointer, builder: ModelBuilder) throws(ModelError) -> Module {
        try build(node, at: pointer, path: "", builder: builder)
    }

    static func build(_ node: JSONValue, at pointer: JSONPointer, path: String, builder b: ModelBuilder) throws(ModelError) -> Module {
        guard case .object(let obj) = node else {
            throw .invalid(pointer, "a module must be an object with a \"type\", got \(node.typeName)")
        }
        guard let typeValue = obj["type"] else { throw .invalid(pointer, "a module needs a \"type\"") }
        guard case .string(let type) = typeValue, !type.isEmpty else {
            throw .invalid(pointer / "type", "\"type\" must be a non-empty string")
        }
        let reservedUsed = obj.keys.filter { $0 != "type" && reservedKeys.contains($0) }
        // torchref builds a leaf only for a torch.nn type without reserved keys; with them the node is a BaseModule
        // container of that class name (so `layer` matches it). Constructor arguments next to reserved keys would be
        // silently dropped by that container: reject them instead. MultiheadAttention's out_proj class is not
        // exported by torch.nn, so a spec naming it gets the container rules too.
        if let leaf = LeafCatalog.types[type], type != "NonDynamicallyQuantizableLinear" {
            if let key = reservedUsed.first {
                if obj.keys.allSatisfy(reservedKeys.contains) {
                    return try buildContainer(type, obj, at: pointer, path: path, builder: b)
                }
                throw .invalid(pointer / key, "\(type) is a torch.nn leaf and cannot carry \"\(key)\" next to its constructor arguments; wrap it in a container")
            }
            let m = b.module(type, bases: leaf.bases, container: false, path: path, pointer: pointer)
            var args = LeafArguments(className: type, node: obj, pointer: pointer)
            if LeafSignatures.hasState(type) { try args.factoryArguments() }
            try leaf.build(&args, m, b)
            return m
        }
        return try buildContainer(type, obj, at: pointer, path: path, builder: b)
    }

    private static func buildContainer(_ type: String, _ obj: JSONObject, at pointer: JSONPointer, path: String,
                                       builder b: ModelBuilder) throws(ModelError) -> Module
    {
        let hasContent = obj["children"] != nil || obj["parameters"] != nil || obj["buffers"] != nil
        for key in obj.keys where !reservedKeys.contains(key) {
            if let leaf = closestName(to: type, in: LeafCatalog.names) {
                throw .invalid(pointer / "type", "unknown module type '\(type)' (did you mean '\(leaf)'?)")
            }
            let hint = closestName(to: key, in: reservedKeys).map { " (did you mean '\($0)'?)" } ?? ""
            throw .invalid(pointer / key, "unknown key '\(key)' in container '\(type)'\(hint); '\(type)' is not a torch.nn leaf type, so only \(reservedKeys.joined(separator: ", ")) are allowed")
        }
        if !hasContent, let leaf = closestName(to: type, in: LeafCatalog.names), leaf != type, nearlyEqual(leaf, type) {
            throw .invalid(pointer / "type", "unknown module type '\(type)' (did you mean '\(leaf)'?)")
        }
        let bases = try baseNames(obj["bases"], at: pointer / "bases")
        let m = b.module(type, bases: bases, container: true, path: path, pointer: pointer)
        if let cfg = obj["init_cfg"], cfg != .null { m.initCfg = cfg }
        if let steps = obj["init_weights"], steps != .null {
            guard case .array(let items) = steps else {
                throw .invalid(pointer / "init_weights", "init_weights must be a list of steps")
            }
            m.initWeightsSteps = items
        }
        var names = Set<String>()
        for (name, spec, at) in try entries(obj["parameters"], at: pointer / "parameters") {
            try checkName(name, &names, at)
            try ContainerTensors.parameter(name, spec, at: at, module: m, builder: b)
        }
        for (name, spec, at) in try entries(obj["buffers"], at: pointer / "buffers") {
            try checkName(name, &names, at)
            try ContainerTensors.buffer(name, spec, at: at, module: m, builder: b)
        }
        for (name, spec, at) in try entries(obj["children"], at: pointer / "children") {
            try checkName(name, &names, at)
            let child = try build(spec, at: at, path: path.isEmpty ? name : path + "." + name, builder: b)
            b.addChild(m, name, child)
        }
        return m
    }

    private static func nearlyEqual(_ a: String, _ b: String) -> Bool {
        a.lowercased() == b.lowercased() || (abs(a.count - b.count) <= 1 && closestName(to: a, in: [b]) != nil && a.count > 4)
    }

    private static func baseNames(_ v: JSONValue?, at pointer: JSONPointer) throws(ModelError) -> [String] {
        guard let v else { return ["BaseModule"] }
        // torchref iterates node.get('bases', [...]): an explicit null is not "absent" there, it raises.
        if v == .null { throw .rejected(pointer, "TypeError: 'NoneType' object is not iterable") }
        guard case .array(let items) = v else { throw .invalid(pointer, "bases must be a list of class names") }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard case .string(let s) = item, !s.isEmpty else { throw .invalid(pointer / i, "a base must be a class name") }
            if !out.contains(s) { out.append(s) }
        }
        // Every named base is a fresh BaseModule subclass, so BaseModule listed before any of them has no
        // consistent MRO and Python's `type()` raises.
        let names = items.compactMap(\.stringValue)
        if let first = names.firstIndex(of: "BaseModule"), names[(first + 1)...].contains(where: { $0 != "BaseModule" }) {
            var seen: [String] = []
            for n in names where n != "BaseModule" || !seen.contains(n) { seen.append(n) }
            throw .rejected(pointer, "TypeError: Cannot create a consistent method resolution order (MRO) for bases \(seen.joined(separator: ", "))")
        }
        return out.isEmpty ? ["BaseModule"] : out
    }

    private static func entries(_ v: JSONValue?, at pointer: JSONPointer) throws(ModelError) -> [(String, JSONValue, JSONPointer)] {
        guard let v else { return [] }
        // torchref calls node.get(key, {}).items(): an explicit null raises instead of meaning "none".
        if v == .null { throw .rejected(pointer, "AttributeError: 'NoneType' object has no attribute 'items'") }
        guard case .object(let o) = v else { throw .invalid(pointer, "must be an object mapping names to entries") }
        return o.entries.map { ($0.key, $0.value, pointer / $0.key) }
    }

    /// torch's `add_module`/`register_parameter` name rules.
    private static func checkName(_ name: String, _ seen: inout Set<String>, _ at: JSONPointer) throws(ModelError) {
        if name.isEmpty { throw .rejected(at, "KeyError: 'module name can\\'t be empty string \"\"'") }
        if name.contains(".") { throw .rejected(at, "KeyError: 'module name can\\'t contain \".\", got: \(name)'") }
        if !seen.insert(name).inserted || PythonAttributes.baseModule.contains(name) {
            throw .rejected(at, "KeyError: \"attribute '\(name)' already exists\"")
        }
    }
}

extension Module {
    /// state_dict order: own parameters, own persistent buffers, then each child.
    public func stateDictTensors(_ timeline: Timeline) -> [Int] {
        var out = parameters.map(\.tensor) + buffers.map(\.tensor).filter { timeline.tensors[$0].persistent }
        for (_, c) in children { out += c.stateDictTensors(timeline) }
        return out
    }
}
