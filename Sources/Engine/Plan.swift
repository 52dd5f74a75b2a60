import Checkpoints
import JSON
import MMEngine
import Model
import Program
import Tensors

/// One tensor of the output: its place in the state dict and the writes that decide its final value.
public struct PlannedTensor: Sendable {
    /// Index into the timeline's tensors (several entries share one when tied).
    public var tensor: Int
    public var record: TensorRecord
    /// Dtype in the checkpoint: floating tensors take the request dtype (`model.to(dtype)`), integers keep theirs.
    public var outputDType: DType
    /// The last whole-tensor write (op index); later ops are edits (`edits`).
    public var baseOp: Int?
    public var edits: [Int]
    /// MMEngine's init-info string (parameters of a model with `init_weights`).
    public var initInfo: String?
    /// The part of the tensor that is sent (`"shard"`); nil: the whole tensor.
    public var shard: ShardSlice?

    /// Shape and element count of what is sent.
    public var outputShape: [Int] { shard?.outputShape ?? record.shape }
    public var outputCount: Int { shard?.count ?? record.count }
}

/// Everything known about a job before any value exists.
public final class Plan: @unchecked Sendable {
    public let request: InitRequest
    public let root: Module
    public let timeline: Timeline
    public let tensors: [PlannedTensor]
    public let pretrained: [PretrainedResult]
    /// `"rng": "counter"`: the Philox streams (nil in torch mode).
    let counterStreams: CounterStreams?
    /// A traced program's replay cost (`Program.storageBytes`, `Program.workElements`); nil for a spec.
    public var programCost: (storageBytes: UInt64, workElements: UInt64)?

    init(request: InitRequest, root: Module, timeline: Timeline, tensors: [PlannedTensor], pretrained: [PretrainedResult],
         counterStreams: CounterStreams? = nil) {
        self.counterStreams = counterStreams
        self.request = request
        self.root = root
        self.timeline = timeline
        self.tensors = tensors
        self.pretrained = pretrained
    }

    /// parse → build (construction-time init) → `init_weights()` (a spec), or parse → compile (a traced program)
    /// → the output tensors, in state_dict order. Both meet at the timeline; nothing after this knows which came in.
    public static func make(_ request: InitRequest, pretrained loader: PretrainedLoader?) throws(SpecError) -> Plan {
        let timeline: Timeline
        let root: Module
        let entries: [StateDictEntry]
        let info: [Int: String]
        var pretrained: [PretrainedResult] = []
        var cost: (storageBytes: UInt64, workElements: UInt64)?
        do {
            switch request.source {
            case .model(let spec):
                timeline = Timeline()
                let builder = ModelBuilder(timeline: timeline)
                root = try ModelSpec.build(spec, at: JSONPointer(["model"]), builder: builder)
                let result = try MMEngineInit.run(root, timeline: timeline, builder: builder, pretrained: loader)
                entries = root.stateDictTensors(timeline).map { StateDictEntry(tensor: $0, record: timeline.tensors[$0]) }
                info = result.info
                pretrained = result.pretrained
            case .program(let value):
                let at = JSONPointer(["program"])
                let program = try Program(value, at: at)
                cost = (program.storageBytes, program.workElements)
                let compiled = program.compile(at: at)
                (timeline, root, entries, info) = (compiled.timeline, compiled.root, compiled.entries, compiled.info)
                if let cfg = request.initCfg {
                    // After the traced ops: `initialize(m.get_submodule(path), cfg)` per path. It logs no
                    // init-info (that lives only inside `init_weights`), so the traced strings stay.
                    pretrained = try MMEngineInit.initialize(root, timeline: timeline, initCfg: cfg,
                                                             at: JSONPointer(["init_cfg"]), pretrained: loader)
                }
            }
        } catch {
            throw SpecError(error.kind == .invalid ? .invalid : .rejected, at: error.pointer, error.message)
        }
        // `model.to(dtype)` casts floating tensors; a spec is generated in float32 and always cast, a program only
        // when the request names a dtype.
        let castsFloats: Bool
        if case .program = request.source { castsFloats = request.dtypeWasGiven } else { castsFloats = true }
        var planned: [PlannedTensor] = []
        planned.reserveCapacity(entries.count)
        for entry in entries {
            let t = entry.tensor
            let record = entry.record
            let ops = timeline.writes[t]
            // The last write that replaces every value without reading any (a whole-tensor init or checkpoint copy).
            let baseIndex = ops.lastIndex { op in
                switch timeline.ops[op].write {
                case .fill, .copy: return true
                default: return false
                }
            }
            planned.append(PlannedTensor(
                tensor: t, record: record,
                outputDType: record.dtype.isFloatingPoint && castsFloats ? request.dtype : record.dtype,
                baseOp: baseIndex.map { ops[$0] },
                edits: baseIndex.map { Array(ops[($0 + 1)...]) } ?? ops,
                initInfo: record.kind == .parameter ? info[t] : nil,
                shard: request.shard?.slice(of: record.shape)))
        }
        if let include = request.include {
            let kept = try include.select(planned.map(\.record.name), at: JSONPointer(["include"]))
            planned = kept.map { planned[$0] }
        }
        if request.mkl != .sse4_2 {
            for t in planned {
                for op in [t.baseOp].compactMap({ $0 }) + t.edits {
                    let float64 = timeline.tensors[timeline.ops[op].tensor].dtype == .float64
                    if let what = request.mkl.unreproducedInit(timeline.ops[op].write, float64: float64) {
                        let origin = timeline.origins[timeline.ops[op].origin]
                        throw SpecError(.rejected, at: origin.pointer, InitRequest.MKLPath.refusal(request.mkl, what: what, tensor: t.record.name))
                    }
                }
            }
        }
        let streams = request.rng == .counter ? CounterStreams(timeline: timeline, seed: request.seed, entries: entries) : nil
        let plan = Plan(request: request, root: root, timeline: timeline, tensors: planned, pretrained: pretrained,
                        counterStreams: streams)
        plan.programCost = cost
        return plan
    }

    /// Element operations and cached elements of the tensors that are evaluated whole (see `StorageEvaluator.cost`).
    func wholeEvaluationCost(limit: UInt64) -> (operations: UInt64, cached: UInt64) {
        var visited = Set<[Int]>()
        var operations: UInt64 = 0, cached: UInt64 = 0
        for t in tensors where !ValueGenerator.isChunked(t, timeline, counter: counterStreams != nil) {
            StorageEvaluator.cost(timeline, t.tensor, before: timeline.ops.count, visited: &visited,
                                  operations: &operations, cached: &cached, limit: limit)
            if operations > limit { break }
        }
        return (operations, cached)
    }

    public var entries: [CheckpointEntry] {
        var first: [Int: Int] = [:]
        return tensors.enumerated().map { i, t in
            // Tied entries (one timeline tensor, several names) alias the first entry of their storage.
            let alias = first[t.tensor]
            if alias == nil { first[t.tensor] = i }
            return CheckpointEntry(name: t.record.name, dtype: t.outputDType, shape: t.outputShape, aliasOf: alias)
        }
    }
}
