import Model
import Tensors
import TorchInit
import TorchRandom

/// Produces each tensor's final values, tensor by tensor, in any order.
///
/// One forward pass over the timeline replays the random stream without computing dead values
/// (`TensorFill.advance` skips draws) and keeps a generator snapshot at the start of every write
/// that survives; a tensor is then generated from its snapshot alone.
final class ValueGenerator {
    private let plan: Plan
    private var snapshots: [Int: CPUGenerator] = [:]
    private var prepared = false

    init(plan: Plan) { self.plan = plan }

    /// The stream replay; done lazily so /plan never pays for it.
    private func prepare() {
        let timeline = plan.timeline
        var live = Set<Int>()
        for t in plan.tensors { if let b = t.baseOp { live.insert(b) } }
        var g = CPUGenerator(seed: UInt64(bitPattern: plan.request.seed))
        for (i, op) in timeline.ops.enumerated() {
            guard case .fill(let fill) = op.write, fill.isRandom else { continue }
            if live.contains(i) { snapshots[i] = g }
            let record = timeline.tensors[op.tensor]
            fill.advance(count: record.count, dtype: record.dtype, shape: record.shape, generator: &g)
        }
        prepared = true
    }

    /// Writes tensor `index` (of `plan.tensors`) in its output dtype into `out`.
    func generate(_ index: Int, into out: UnsafeMutableRawBufferPointer) throws {
        if !prepared { prepare() }
        let t = plan.tensors[index]
        let record = t.record
        let n = record.count
        if n == 0 { return }
        switch record.dtype {
        case .float64:
            let values = UnsafeMutableBufferPointer<Double>.allocate(capacity: n)
            defer { values.deallocate() }
            try compute(t, into: values)
            encode(UnsafeBufferPointer(values), as: t.outputDType, into: out)
        case .int64, .int32, .bool:
            let values = UnsafeMutableBufferPointer<Double>.allocate(capacity: n)
            defer { values.deallocate() }
            try compute(t, into: values)
            writeIntegers(values, as: record.dtype, into: out)
        default:
            let values = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
            defer { values.deallocate() }
            try compute(t, into: values)
            if record.dtype == .float16 || record.dtype == .bfloat16 { roundThrough(record.dtype, values) }
            encode(UnsafeBufferPointer(values), as: t.outputDType, into: out)
        }
    }

    private func compute<T: BinaryFloatingPoint>(_ t: PlannedTensor, into values: UnsafeMutableBufferPointer<T>) throws {
        let timeline = plan.timeline
        values.initialize(repeating: 0)
        if let base = t.baseOp {
            switch timeline.ops[base].write {
            case .fill(let fill):
                var g = snapshots[base] ?? CPUGenerator(seed: 0)
                if let f = values as? UnsafeMutableBufferPointer<Float> {
                    fill.apply(to: f, shape: t.record.shape, generator: &g)
                } else if let d = values as? UnsafeMutableBufferPointer<Double> {
                    fill.apply(to: d, shape: t.record.shape, generator: &g)
                }
            case .copy(let source):
                if let f = values as? UnsafeMutableBufferPointer<Float> {
                    try source.read(into: f)
                } else if let d = values as? UnsafeMutableBufferPointer<Double> {
                    try source.read(into: d)
                }
            case .zeroRow:
                break
            }
        }
        for op in t.edits {
            if case .zeroRow(let row) = timeline.ops[op].write, let rows = t.record.shape.first, rows > 0 {
                let width = t.record.count / rows
                for i in (row * width)..<((row + 1) * width) { values[i] = 0 }
            }
        }
    }

    private func roundThrough(_ dtype: DType, _ values: UnsafeMutableBufferPointer<Float>) {
        for i in values.indices {
            values[i] = dtype == .float16
                ? FloatBits.float(fromFloat16: FloatBits.float16(values[i]))
                : FloatBits.float(fromBFloat16: FloatBits.bfloat16(values[i]))
        }
    }

    private func writeIntegers(_ values: UnsafeMutableBufferPointer<Double>, as dtype: DType, into out: UnsafeMutableRawBufferPointer) {
        for (i, v) in values.enumerated() {
            switch dtype {
            case .int64: out.storeBytes(of: Int64(v).littleEndian, toByteOffset: i * 8, as: Int64.self)
            case .int32: out.storeBytes(of: Int32(v).littleEndian, toByteOffset: i * 4, as: Int32.self)
            default: out.storeBytes(of: v != 0 ? 1 : 0, toByteOffset: i, as: UInt8.self)
            }
        }
    }
}
