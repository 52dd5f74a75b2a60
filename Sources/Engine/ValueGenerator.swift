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


    /// The stream replay; done lazily so /plan never pays for it.
    private func prepare() {
        let timeline = plan.timeline
        var live = Set<Int>()
        for t in plan.tensors { if let b = t.baseOp { live.insert(b) } }
        var g = CPUGenerator(seed: UInt64(bitPattern: plan.request.seed))
        for (i, op) in timeline.ops.enumerated() {
            guard case .fill(let fill) = op.write, fill.isRandom else { continue }
            if live.contains(i) { g.settle(); snapshots[i] = g }  // the dead draws since the last one: one jump when long
            let record = timeline.tensors[op.tensor]
            fill.advance(count: record.count, dtype: record.dtype, shape: record.shape, generator: &g)
        }
        prepared = true
    }

    /// Default chunk budget: a tensor is produced in pieces of at most about this many bytes.
    static let defaultChunkBytes = 8 << 20

    /// Budget for one chunk, in bytes (of the output dtype and of the float32/float64 values it is computed in).
    let chunkBytes: Int

    init(plan: Plan, chunkBytes: Int = ValueGenerator.defaultChunkBytes) {
        self.plan = plan
        self.chunkBytes = max(1, chunkBytes)
    }

    /// Float scratch for chunks that cannot be generated in place (converted on output); grown, then reused.
    /// At most one chunk (≈ `chunkBytes`).
    private var scratch: UnsafeMutableRawBufferPointer?
    /// The whole tensor, for the writes produced whole (orthogonal, Pretrained copies); freed when the tensor is done.
    private var whole: UnsafeMutableRawBufferPointer?

    deinit {
        scratch?.deallocate()
        whole?.deallocate()
    }

    private func scratch<T>(_ type: T.Type, _ n: Int) -> UnsafeMutableBufferPointer<T> {
        let bytes = n * MemoryLayout<T>.stride
        if let s = scratch, s.count >= bytes {
            return s.bindMemory(to: T.self).extracting(0..<n)
        }
        scratch?.deallocate()
        let s = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
        scratch = s
        return s.bindMemory(to: T.self).extracting(0..<n)
    }

    /// Most output bytes one chunk can hold (the stream's staging size): the chunk budget plus the few elements a
    /// normal fill may need beyond it (see `FillCursor.nextCount`), never more than the largest tensor.
    var maxChunkBytes: Int {
        let largest = plan.tensors.map { $0.record.count * $0.outputDType.byteSize }.max() ?? 0
        return min(largest, chunkBytes + 32 * 8)
    }

    // MARK: the current tensor

    private enum Source {
        /// Generated chunk by chunk.
        case cursor(FillCursor)
        /// Computed whole into `whole` (values of the compute type), handed out chunk by chunk.
        case whole
    }

    private struct Current {
        let index: Int
        var position = 0
        var source: Source
    }

    private var current: Current?

    /// True when the current tensor has been handed out entirely (or none was begun).
    var isFinished: Bool {
        guard let c = current else { return true }
        return c.position >= plan.tensors[c.index].record.count
    }

    /// float64 storage and the integer dtypes are computed in Double, everything else in Float.
    private static func computesInDouble(_ dtype: DType) -> Bool {
        switch dtype {
        case .float64, .int64, .int32, .bool: true
        default: false
        }
    }

    /// Elements per chunk for tensor `t` (before `FillCursor`'s adjustment).
    private func limit(_ t: PlannedTensor) -> Int {
        let wide = Self.computesInDouble(t.record.dtype)
        let size = max(t.outputDType.byteSize, wide ? 8 : 4)
        var n = max(1, chunkBytes / size)
        // float64 → bfloat16 encodes vectors of 16 and the last count % 16 elements differently (NaN):
        // keep every chunk but the last a multiple of 16.
        if wide && t.outputDType == .bfloat16 { n = max(16, n / 16 * 16) }
        return n
    }

    /// Starts tensor `index` (of `plan.tensors`): its values come out of `next(into:)`.
    func begin(_ index: Int) throws {
        if !prepared { prepare() }
        whole?.deallocate()
        whole = nil
        current = nil
        let t = plan.tensors[index]
        let record = t.record
        var fill = TensorFill.constant(0)
        var generator: CPUGenerator?
        if let base = t.baseOp {
            switch plan.timeline.ops[base].write {
            case .fill(let f):
                // Each tensor is generated once per stream: its snapshot is no longer needed after this.
                generator = snapshots.removeValue(forKey: base)
                fill = f
            case .copy(let source):
                if record.count > 0 {
                    let wide = Self.computesInDouble(record.dtype)
                    let w = UnsafeMutableRawBufferPointer.allocate(byteCount: record.count * (wide ? 8 : 4), alignment: 64)
                    whole = w
                    if wide {
                        let values = w.bindMemory(to: Double.self)
                        try source.read(into: values)
                        applyEdits(t, values, at: 0)
                    } else {
                        let values = w.bindMemory(to: Float.self)
                        try source.read(into: values)
                        applyEdits(t, values, at: 0)
                    }
                }
                current = Current(index: index, source: .whole)
                return
            case .zeroRow:
                break
            }
        }
        current = Current(index: index, source: .cursor(FillCursor(fill: fill, shape: record.shape,
                                                                   generator: generator ?? CPUGenerator(seed: 0))))
    }

    /// Writes the next chunk of the current tensor, in its output dtype, at the start of `out`
    /// (`out.count ≥ maxChunkBytes`); returns the bytes written, 0 once the tensor is done.
    /// A float32 (float64) tensor written as float32 (float64) is generated in place when `out` is aligned
    /// (on a little-endian host the encoding is the identity); anything else goes through a reused scratch buffer.
    func next(into out: UnsafeMutableRawBufferPointer) throws -> Int {
        guard var c = current, !isFinished else { return 0 }
        let t = plan.tensors[c.index]
        let record = t.record
        let wide = Self.computesInDouble(record.dtype)
        let start = c.position
        let n: Int
        switch c.source {
        case .cursor(let cursor):
            n = cursor.nextCount(limit: limit(t))
        case .whole:
            n = min(limit(t), record.count - start)
        }
        let bytes = n * t.outputDType.byteSize
        precondition(out.count >= bytes, "ValueGenerator.next: buffer of \(out.count) bytes for a chunk of \(bytes)")
        let dst = UnsafeMutableRawBufferPointer(rebasing: out[0..<bytes])

        /// Produces elements start..<start+n of the tensor into `values` (n elements).
        func produce<T>(_ values: UnsafeMutableBufferPointer<T>, _ fillChunk: (inout FillCursor) -> Void) {
            switch c.source {
            case .cursor(var cursor):
                fillChunk(&cursor)
                c.source = .cursor(cursor)
            case .whole:
                let all = whole!.bindMemory(to: T.self)
                _ = values.initialize(from: all[start..<(start + n)])
            }
        }

        #if _endian(little)
        let aligned = Int(bitPattern: dst.baseAddress) % 8 == 0
        #else
        let aligned = false
        #endif
        if wide {
            let inPlace = record.dtype == .float64 && t.outputDType == .float64 && aligned
            let values = inPlace ? dst.bindMemory(to: Double.self) : scratch(Double.self, n)
            produce(values) { $0.next(into: values) }
            applyEdits(t, values, at: start)
            if !inPlace {
                if record.dtype == .float64 {
                    encode(UnsafeBufferPointer(values), as: t.outputDType, into: dst)
                } else {
                    writeIntegers(values, as: record.dtype, into: dst)
                }
            }
        } else {
            let inPlace = record.dtype == .float32 && t.outputDType == .float32 && aligned
            let values = inPlace ? dst.bindMemory(to: Float.self) : scratch(Float.self, n)
            produce(values) { $0.next(into: values) }
            applyEdits(t, values, at: start)
            if !inPlace {
                if record.dtype == .float16 || record.dtype == .bfloat16 { roundThrough(record.dtype, values) }
                encode(UnsafeBufferPointer(values), as: t.outputDType, into: dst)
            }
        }
        c.position = start + n
        current = c
        if isFinished {
            whole?.deallocate()
            whole = nil
        }
        return bytes
    }

    /// Writes tensor `index` whole (in its output dtype) into `out` (`out.count` = its byte size), chunk by chunk.
    func generate(_ index: Int, into out: UnsafeMutableRawBufferPointer) throws {
        let t = plan.tensors[index]
        precondition(out.count == t.record.count * t.outputDType.byteSize, "ValueGenerator.generate: buffer size mismatch")
        try begin(index)
        var at = 0
        let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: max(maxChunkBytes, 64), alignment: 64)
        defer { staging.deallocate() }
        while true {
            let n = try next(into: staging)
            if n == 0 { break }
            out.baseAddress!.advanced(by: at).copyMemory(from: staging.baseAddress!, byteCount: n)
            at += n
        }
    }

    /// The partial edits (zeroed rows) that fall in elements start..<start+values.count.
    private func applyEdits<T: BinaryFloatingPoint>(_ t: PlannedTensor, _ values: UnsafeMutableBufferPointer<T>, at start: Int) {
        let end = start + values.count
        for op in t.edits {
            if case .zeroRow(let row) = plan.timeline.ops[op].write, let rows = t.record.shape.first, rows > 0 {
                let width = t.record.count / rows
                let lo = max(row * width, start), hi = min((row + 1) * width, end)
                if lo < hi { values.extracting((lo - start)..<(hi - start)).initialize(repeating: 0) }
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
