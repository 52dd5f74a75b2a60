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

    /// Float scratch for tensors that cannot be generated in place (converted on output); grown, then reused.
    private var scratch: UnsafeMutableRawBufferPointer?

    deinit { scratch?.deallocate() }

    private func scratch<T>(_ type: T.Type, _ n: Int) -> UnsafeMutableBufferPointer<T> {
        let bytes = n * MemoryLayout<T>.stride
        if let s = scratch, s.count >= bytes {
            return s.bindMemory(to: T.self).extracting(0..<n)
        }
        scratch?.deallocate()
        let s = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 64)
        scratch = s
        return s.bindMemory(to: T.self).extracting(0..<n)
    }

    /// Writes tensor `index` (of `plan.tensors`) in its output dtype into `out`.
    /// A float32 (float64) tensor written as float32 (float64) is generated in place when `out` is aligned
    /// (on a little-endian host the encoding is the identity); anything else goes through a reused scratch buffer.
    func generate(_ index: Int, into out: UnsafeMutableRawBufferPointer) throws {
        if !prepared { prepare() }
        let t = plan.tensors[index]
        let record = t.record
        let n = record.count
        if n == 0 { return }
        precondition(out.count == n * t.outputDType.byteSize, "ValueGenerator.generate: buffer size mismatch")
        switch record.dtype {
        case .float64:
            #if _endian(little)
            if t.outputDType == .float64, Int(bitPattern: out.baseAddress) % MemoryLayout<Double>.alignment == 0 {
                try compute(t, into: out.bindMemory(to: Double.self))
                return
            }
            #endif
            let values = scratch(Double.self, n)
            try compute(t, into: values)
            encode(UnsafeBufferPointer(values), as: t.outputDType, into: out)
        case .int64, .int32, .bool:
            let values = scratch(Double.self, n)
            try compute(t, into: values)
            writeIntegers(values, as: record.dtype, into: out)
        default:
            #if _endian(little)
            if record.dtype == .float32, t.outputDType == .float32, Int(bitPattern: out.baseAddress) % MemoryLayout<Float>.alignment == 0 {
                try compute(t, into: out.bindMemory(to: Float.self))
                return
            }
            #endif
            let values = scratch(Float.self, n)
            try compute(t, into: values)
            if record.dtype == .float16 || record.dtype == .bfloat16 { roundThrough(record.dtype, values) }
            encode(UnsafeBufferPointer(values), as: t.outputDType, into: out)
        }
    }

    private func compute(_ t: PlannedTensor, into values: UnsafeMutableBufferPointer<Float>) throws {
        try compute(t, values) { fill, g in fill.apply(to: values, shape: t.record.shape, generator: &g) } copy: { try $0.read(into: values) }
    }

    private func compute(_ t: PlannedTensor, into values: UnsafeMutableBufferPointer<Double>) throws {
        try compute(t, values) { fill, g in fill.apply(to: values, shape: t.record.shape, generator: &g) } copy: { try $0.read(into: values) }
    }

    /// The base write (a fill from its generator snapshot, or a copy) covers every element; without one
    /// the tensor is zeros. Then the partial edits (zeroed rows).
    private func compute<T: BinaryFloatingPoint>(_ t: PlannedTensor, _ values: UnsafeMutableBufferPointer<T>,
                                                 fill apply: (TensorFill, inout CPUGenerator) -> Void,
                                                 copy: (any TensorSource) throws -> Void) throws {
        let timeline = plan.timeline
        var covered = false
        if let base = t.baseOp {
            switch timeline.ops[base].write {
            case .fill(let fill):
                // Each tensor is generated once per stream: its snapshot is no longer needed after this.
                var g = snapshots.removeValue(forKey: base) ?? CPUGenerator(seed: 0)
                apply(fill, &g)
                covered = true
            case .copy(let source):
                try copy(source)
                covered = true
            case .zeroRow:
                break
            }
        }
        if !covered { values.initialize(repeating: 0) }
        for op in t.edits {
            if case .zeroRow(let row) = timeline.ops[op].write, let rows = t.record.shape.first, rows > 0 {
                let width = t.record.count / rows
                values.extracting((row * width)..<((row + 1) * width)).initialize(repeating: 0)
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
