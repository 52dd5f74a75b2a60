import Checkpoints
import JSON
import MMEngine
import Model
import Tensors

/// One tensor of the output: its place in the state dict and the writes that decide its final value.
public struct PlannedTensor: Sendable {
    /// Index into the timeline's tensors.
    public var tensor: Int
    public var record: TensorRecord
    /// Dtype in the checkpoint: floating tensors take the request dtype (`model.to(dtype)`), integers keep theirs.
    public var outputDType: DType
    /// The last whole-tensor write (op index); later ops are partial edits (`edits`).
    public var baseOp: Int?
    public var edits: [Int]
    /// MMEngine's init-info string (parameters of a model with `init_weights`).
    public var initInfo: String?
}

/// Everything known about a job before any value exists.
public final class Plan: @unchecked Sendable {
    public let request: InitRequest
    public let root: Module
    public let timeline: Timeline
    public let tensors: [PlannedTensor]
    public let pretrained: [PretrainedResult]

    init(request: InitRequest, root: Module, timeline: Timeline, tensors: [PlannedTensor], pretrained: [PretrainedResult]) {
        self.request = request
        self.root = root
        self.timeline = timeline
        self.tensors = tensors
        self.pretrained = pretrained
    }

    /// parse → build (construction-time init) → `init_weights()` → the output tensors, in state_dict order.
    public static func make(_ request: InitRequest, pretrained loader: PretrainedLoader?) throws(SpecError) -> Plan {
        let timeline = Timeline()
        let builder = ModelBuilder(timeline: timeline)
        let root: Module
        let result: InitWeightsResult
        do {
            root = try ModelSpec.build(request.model, at: JSONPointer(["model"]), builder: builder)
            result = try MMEngineInit.run(root, timeline: timeline, builder: builder, pretrained: loader)
        } catch {
            throw SpecError(error.kind == .invalid ? .invalid : .rejected, at: error.pointer, error.message)
        }
        var planned: [PlannedTensor] = []
        for t in root.stateDictTensors(timeline) {
            let record = timeline.tensors[t]
            let ops = timeline.writes[t]
            let baseIndex = ops.lastIndex { op in
                if case .zeroRow = timeline.ops[op].write { return false }
                return true
            }
            planned.append(PlannedTensor(
                tensor: t, record: record,
                outputDType: record.dtype.isFloatingPoint ? request.dtype : record.dtype,
                baseOp: baseIndex.map { ops[$0] },
                edits: baseIndex.map { Array(ops[($0 + 1)...]) } ?? ops,
                initInfo: record.kind == .parameter ? result.info[t] : nil))
        }
        return Plan(request: request, root: root, timeline: timeline, tensors: planned, pretrained: result.pretrained)
    }

    public var entries: [CheckpointEntry] {
        tensors.map { CheckpointEntry(name: $0.record.name, dtype: $0.outputDType, shape: $0.record.shape) }
    }
}
