import Model
import TorchInit
import TorchRandom

/// `"rng": "counter"`: the Philox key and write ordinal of every random write (docs/counter-rng.md).
/// A storage's stream name is the smallest (by UTF-8 bytes) state-dict name that refers to it, over the whole state
/// dict (not only the included entries), so tied entries share one stream whatever their order; a storage no entry
/// reads (a program's temporary) uses its timeline name `(storage k)`. The seed is the request's, or the last
/// `manual_seed` before the write in a program. The ordinal counts the earlier random writes to the same storage.
struct CounterStreams {
    let timeline: Timeline
    let seed: Int64
    let names: [Int: String]

    init(timeline: Timeline, seed: Int64, entries: [StateDictEntry]) {
        self.timeline = timeline
        self.seed = seed
        var names: [Int: String] = [:]
        for e in entries {
            if let n = names[e.tensor], Array(n.utf8).lexicographicallyPrecedes(Array(e.record.name.utf8)) { continue }
            names[e.tensor] = e.record.name
        }
        self.names = names
    }

    func name(_ storage: Int) -> String { names[storage] ?? timeline.tensors[storage].name }

    func seed(before op: Int) -> Int64 {
        timeline.reseeds.last { $0.beforeOp <= op }?.seed ?? seed
    }

    /// Key and ordinal of random write `op`.
    func stream(_ op: Int) -> (key: CounterKey, ordinal: UInt32) {
        let s = timeline.ops[op].tensor
        let ordinal = timeline.writes[s].prefix { $0 < op }.filter { timeline.ops[$0].write.isRandom }.count
        return (CounterKey(seed: seed(before: op), name: name(s)), UInt32(truncatingIfNeeded: ordinal))
    }
}
