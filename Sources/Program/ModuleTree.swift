import JSON
import Model

extension Program {
    /// The `Model.Module` tree of `modules` (named_modules order: a parent before its children), owning the
    /// state-dict tensors (timeline tensor = storage), with `weight`/`bias` as MMEngine's
    /// `hasattr(m, 'weight') and m.weight is not None` sees them: a parameter or buffer of that name, `None` when
    /// registered as None, absent otherwise. Without modules, a root of class `model`.
    func moduleTree(at: JSONPointer) -> Module {
        guard let first = modules.first, first.path.isEmpty else {
            return Module(className: model, baseNames: [], isContainer: false, path: "", pointer: at)
        }
        var byPath: [String: Module] = [:]
        var root: Module?
        for (i, info) in modules.enumerated() {
            let m = Module(className: info.className, baseNames: info.bases, isContainer: info.initWeights,
                           path: info.path, pointer: at / "modules" / i)
            for (name, entry) in info.parameters {
                let attribute: Attribute
                if let e = entry {
                    m.parameters.append((name: name, tensor: stateDict[e].storage))
                    attribute = .tensor(stateDict[e].storage)
                } else {
                    attribute = .none
                }
                if name == "weight" { m.weight = attribute }
                if name == "bias" { m.bias = attribute }
            }
            for (name, entry) in info.buffers {
                if let e = entry { m.buffers.append((name: name, tensor: stateDict[e].storage)) }
                // `m.weight` / `m.bias` find a buffer of that name too (MMEngine's `hasattr(m, 'weight')`).
                if name == "weight", m.weight == .absent { m.weight = entry.map { .tensor(stateDict[$0].storage) } ?? .none }
                if name == "bias", m.bias == .absent { m.bias = entry.map { .tensor(stateDict[$0].storage) } ?? .none }
            }
            // torch's RNN/LSTM/GRU keep `self.bias = bias` (a bool) beside their `bias_ih_l0`... parameters.
            if m.bias == .absent, ["RNN", "LSTM", "GRU"].contains(info.className) || info.bases.contains("RNNBase") {
                m.bias = .bool(!info.parameters.filter { $0.name.hasPrefix("bias_") }.isEmpty)
            }
            if info.path.isEmpty {
                if root == nil { root = m }
            } else {
                let parts = info.path.split(separator: ".", omittingEmptySubsequences: false)
                let parentPath = parts.dropLast().joined(separator: ".")
                if let parent = byPath[parentPath] ?? (parentPath.isEmpty ? root : nil) {
                    parent.children.append((name: String(parts.last!), module: m))
                }
            }
            byPath[info.path] = m
        }
        return root!
    }
}
