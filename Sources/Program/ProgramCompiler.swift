import JSON
import Model
import Tensors
import TorchInit

/// A program compiled to the engine's timeline: one timeline tensor per storage, one write per op.
public struct CompiledProgram: @unchecked Sendable {
    public let timeline: Timeline
    public let root: Module
    /// The state dict, in order (tied entries share a tensor).
    public let entries: [StateDictEntry]
    /// MMEngine init-info strings per timeline tensor (storage).
    public let info: [Int: String]
}

extension Program {
    /// `at`: the program's place in the request (`/program`), for the report's pointers.
    public func compile(at: JSONPointer) -> CompiledProgram {
        let timeline = Timeline()
        var firstEntry = [Int?](repeating: nil, count: storages.count)
        for (i, e) in stateDict.enumerated() where firstEntry[e.storage] == nil { firstEntry[e.storage] = i }
        // A storage has its first state-dict entry's shape (an initializer's fans come from it), else flat.
        for (s, storage) in storages.enumerated() {
            let entry = firstEntry[s].map { stateDict[$0] }
            let record = TensorRecord(name: entry?.name ?? "(storage \(s))", kind: entry?.kind ?? .buffer,
                                      shape: entry?.shape ?? [storage.numel], dtype: storage.dtype, persistent: true)
            _ = timeline.addTensor(record, initial: timeline.freshUnique())
        }
        var info = InitInfoBook()
        for (i, op) in ops.enumerated() {
            let origin = Origin(initializer: op.name, arguments: op.arguments, phase: "program", pointer: at / "ops" / i,
                                site: op.site.map { sites[$0] }, module: op.module)
            func record(_ write: TensorWrite, _ out: WindowRef) {
                timeline.record(write, on: out.storage, origin: timeline.addOrigin(origin))
            }
            func fill(_ f: TensorFill, _ w: WindowRef) {
                record(w.window.coversWhole(storages[w.storage].numel) ? .fill(f) : .windowFill(f, w.window), w)
            }
            switch op.kind {
            case .manualSeed(let seed):
                timeline.recordManualSeed(seed)
            case .fill(let f, let w):
                fill(f, w)
            case .truncNormal(let mean, let std, let a, let b, let w):
                if TruncNormalSampler.isSingleNormal(mean: mean, std: std, a: a, b: b) {
                    fill(.normal(mean: mean, std: std), w)
                } else {
                    record(.truncNormal(mean: mean, std: std, a: a, b: b, w.window), w)
                }
            case .literal(let values, let w):
                record(.literal(values, w.window), w)
            case .copy(let out, let src):
                record(.copyWindow(storage: src.storage, version: timeline.ops.count, src: src.window, out: out.window), out)
            case .scalar(let s, let w):
                record(.scalar(s, w.window), w)
            case .initInfoReset(let ids, let text):
                for s in ids { info.reset(s, text, timeline.content[s]) }
            case .initInfoUpdate(let ids, let text):
                for s in ids { info.update(s, text, timeline.content[s], count: storages[s].numel) }
            }
        }
        let entries = stateDict.map { e in
            StateDictEntry(tensor: e.storage, record: TensorRecord(name: e.name, kind: e.kind, shape: e.shape,
                                                                   dtype: storages[e.storage].dtype, persistent: true))
        }
        return CompiledProgram(timeline: timeline, root: moduleTree(at: at), entries: entries, info: info.strings)
    }
}

/// MMEngine's init-info bookkeeping (`BaseModule.init_weights` / `update_init_info`) on symbolic contents.
struct InitInfoBook {
    private(set) var strings: [Int: String] = [:]
    private var means: [Int: Content] = [:]

    /// `init_info_reset`: the string MMEngine starts with, and the mean it compares against.
    mutating func reset(_ s: Int, _ text: String, _ content: Content) {
        strings[s] = text
        means[s] = content
    }

    /// `init_info_update`: replaces the string only if the mean changed since the last reset/update.
    mutating func update(_ s: Int, _ text: String, _ content: Content, count: Int) {
        guard let old = means[s] else {
            strings[s] = text
            means[s] = content
            return
        }
        if meanChanged(from: old, to: content, count: count) {
            strings[s] = text
            means[s] = content
        }
    }
}
