import JSON
import Model

/// MMEngine Pretrained: `load_checkpoint` / `_load_checkpoint_with_prefix` + `load_state_dict(strict=False)`.
extension InitContext {
    func applyPretrained(_ p: PretrainedInit, to module: Module) throws(ModelError) {
        guard let loader = pretrained else {
            throw .invalid(p.pointer / "checkpoint", "Pretrained checkpoints are not available here: start the service with --checkpoint-dir")
        }
        let raw: [PretrainedTensor]
        do { raw = try loader.load(p.checkpoint) } catch { throw ModelError(.rejected, p.pointer / "checkpoint", error.message) }
        var sd: [(String, PretrainedTensor)] = []
        if let prefix = p.prefix {
            let full = prefix.hasSuffix(".") ? prefix : prefix + "."
            for t in raw where t.key.hasPrefix(full) { sd.append((String(t.key.dropFirst(full.count)), t)) }
            if sd.isEmpty { throw .rejected(p.pointer / "prefix", "AssertionError: \(full) is not in the pretrained model") }
        } else {
            // revise_keys=[(r'^module\.', '')]; a later duplicate key wins, as in the OrderedDict rebuild.
            for t in raw {
                let key = t.key.hasPrefix("module.") ? String(t.key.dropFirst(7)) : t.key
                if let i = sd.firstIndex(where: { $0.0 == key }) { sd[i].1 = t } else { sd.append((key, t)) }
            }
        }
        var result = PretrainedResult(checkpoint: p.checkpoint, prefix: p.prefix, module: module.path, pointer: p.pointer)
        let origin = self.origin("PretrainedInit", ["checkpoint": .string(p.checkpoint), "prefix": p.prefix.map { .string($0) } ?? .null],
                                 phase: "pretrained", at: p.pointer)
        var lookup: [String: PretrainedTensor] = [:]
        for (k, t) in sd { lookup[k] = t }
        load(module, prefix: "", lookup, &result, origin: origin)
        collectUnexpected(module, prefix: "", keys: sd.map(\.0), into: &result.unexpected)
        result.missing = result.missing.filter { !$0.contains("num_batches_tracked") }
        addPretrainedResult(result)
        updateInitInfo(module, p.info)
    }

    /// torch's `_load_from_state_dict` over the subtree, module by module.
    private func load(_ m: Module, prefix: String, _ sd: [String: PretrainedTensor], _ result: inout PretrainedResult, origin: Int) {
        let local = m.parameters + m.buffers.filter { timeline.tensors[$0.tensor].persistent }
        for (name, t) in local {
            let key = prefix + name
            guard let input = sd[key] else {
                result.missing.append(key)
                continue
            }
            let shape = timeline.tensors[t].shape
            if input.shape != shape {
                result.mismatched.append("size mismatch for \(key): copying a param with shape torch.Size(\(input.shape)) from checkpoint, the shape in current model is torch.Size(\(shape)).")
                continue
            }
            timeline.record(.copy(input.source), on: t, origin: origin)
            result.loaded.append(key)
        }
        for (name, c) in m.children { load(c, prefix: prefix + name + ".", sd, &result, origin: origin) }
    }

    /// torch's unexpected-key rule (`_load_from_state_dict(strict=True)`), module by module in `load` order: at the module
    /// a key reaches, a dotted rest must start with a child's name, an undotted one must be local state (a parameter
    /// or persistent buffer). Reported in traversal order, and within a module in state-dict order, as torch does.
    private func collectUnexpected(_ m: Module, prefix: String, keys: [String], into out: inout [String]) {
        for key in keys {
            let rest = key.dropFirst(prefix.count)
            let parts = rest.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            let head = String(parts[0])
            if parts.count > 1 {
                if m.child(named: head) == nil { out.append(key) }
            } else {
                let isLocal = m.parameters.contains { $0.name == head }
                    || m.buffers.contains { $0.name == head && timeline.tensors[$0.tensor].persistent }
                if !isLocal { out.append(key) }
            }
        }
        for (name, c) in m.children {
            let childPrefix = prefix + name + "."
            collectUnexpected(c, prefix: childPrefix, keys: keys.filter { $0.hasPrefix(childPrefix) }, into: &out)
        }
    }
}
