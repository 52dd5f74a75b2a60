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


    /// Ops whose generator snapshot several planned tensors use (tied entries, copy sources): kept until the last.
    private var snapshotUses: [Int: Int] = [:]

    /// Live fills whose start state is the end state of the fill just before them in the stream (`chainedFrom[i] = j`:
    /// no draw between op j's and op i's). The replay does not twist through op j's draws to snapshot op i: when
    /// op j's tensor is generated whole first, its final generator *is* op i's start (`endStates[j]`). Otherwise
    /// op i's stored snapshot, still holding those draws as a pending skip, is settled on use.
    private var chainedFrom: [Int: Int] = [:]
    private var chainedTo: [Int: Int] = [:]
    private var endStates: [Int: CPUGenerator] = [:]

    /// True when tensor `t` is generated chunk by chunk: a whole fill (or nothing) followed only by zeroed rows,
    /// whole-tensor scalar ops and constant fills of windows.
    static func isChunked(_ t: PlannedTensor, _ timeline: Timeline, counter: Bool = false) -> Bool {
        if let b = t.baseOp, case .copy = timeline.ops[b].write {
            return t.edits.allSatisfy { if case .zeroRow = timeline.ops[$0].write { true } else { false } }
        }
        let count = timeline.tensors[t.tensor].count
        if !counter, let b = t.baseOp, case .fill(.normal) = timeline.ops[b].write,
           ReducedPrecisionNormal.differs(count: count, dtype: timeline.tensors[t.tensor].dtype) {
            return false  // the 16-bit normal_ tail is produced whole (StorageEvaluator)
        }
        return t.edits.allSatisfy { op in
            switch timeline.ops[op].write {
            case .zeroRow, .windowFill(.constant, _): true
            case .scalar(_, let w): w.coversWhole(count)
            default: false
            }
        }
    }

    /// The stream replay; done lazily so /plan never pays for it. Draws into values no output reads are skipped
    /// (`advance`), except trunc_normal_'s redraw loop, whose draw count depends on its values.
    private func prepare() {
        // Counter mode: every value is a function of its key and index; there is no stream to replay.
        if plan.counterStreams != nil { prepared = true; return }
        let timeline = plan.timeline
        var live = Set<Int>()
        var wholeNeeds = Set<Int>()
        var visited = Set<[Int]>()
        // Ops a chunked tensor starts from with a whole `.fill`, with the first stream position of such a tensor:
        // generating it (unsharded) runs exactly the fill's draws, so its end state is the stream's state after the
        // op. A fill is chained to the one before it only if that one's tensor also streams first (post-order inits
        // such as `apply` put a parent's own parameters after its children's); otherwise it is settled below.
        var wholeFills: [Int: Int] = [:]
        for (k, t) in plan.tensors.enumerated() {
            if Self.isChunked(t, timeline) {
                if let b = t.baseOp {
                    live.insert(b)
                    snapshotUses[b, default: 0] += 1
                    if plan.request.shard == nil, case .fill = timeline.ops[b].write, wholeFills[b] == nil { wholeFills[b] = k }
                }
            } else {
                StorageEvaluator.neededOps(timeline, t.tensor, before: timeline.ops.count, into: &wholeNeeds, visited: &visited)
            }
        }
        // Snapshots the whole-tensor evaluations use are never released (copies may read them again), also when a
        // chunked tensor streamed earlier uses the same one.
        live.formUnion(wholeNeeds)
        for op in wholeNeeds { snapshotUses[op] = Int.max }
        var g = CPUGenerator(seed: UInt64(bitPattern: plan.request.seed))
        var reseeds = timeline.reseeds[...]
        var previousRandom: Int?   // the last random op since the last reseed
        for (i, op) in timeline.ops.enumerated() {
            while let r = reseeds.first, r.beforeOp <= i {
                g = CPUGenerator(seed: UInt64(bitPattern: r.seed))
                reseeds = reseeds.dropFirst()
                previousRandom = nil
            }
            guard op.write.isRandom else { continue }
            if live.contains(i) {
                if let j = previousRandom, let pj = wholeFills[j], let pi = wholeFills[i], pj < pi, !wholeNeeds.contains(i) {
                    chainedFrom[i] = j
                    chainedTo[j] = i
                    snapshots[i] = g  // unsettled: the fallback
                } else {
                    g.settle()  // the dead draws since the last one: one jump when long
                    snapshots[i] = g
                }
            }
            previousRandom = i
            let record = timeline.tensors[op.tensor]
            switch op.write {
            case .fill(let fill):
                fill.advance(count: record.count, dtype: record.dtype, shape: record.shape, generator: &g)
            case .windowFill(let fill, let w):
                fill.advance(count: w.count, dtype: record.dtype, shape: w.shape, generator: &g)
            case .truncNormal(let mean, let std, let a, let b, let w):
                TruncNormalSampler.advance(count: w.count, dtype: record.dtype, mean: mean, std: std, a: a, b: b, &g)
            default:
                break
            }
        }
        prepared = true
    }

    /// The snapshot before op `op`, released after its last use.
    private func takeSnapshot(_ op: Int) -> CPUGenerator? {
        if let j = chainedFrom[op] {
            chainedFrom[op] = nil
            chainedTo[j] = nil
            if let end = endStates.removeValue(forKey: j) { snapshots[op] = end }
        }
        let g = snapshots[op]
        if let n = snapshotUses[op], n != Int.max {
            if n <= 1 { snapshots[op] = nil; snapshotUses[op] = nil } else { snapshotUses[op] = n - 1 }
        }
        return g
    }

    /// The generator of a fill that draws nothing (constants): copied, not seeded per tensor (a seed is ~1 µs,
    /// hundreds of norm layers per model).
    private static let unusedGenerator = CPUGenerator(seed: 0)

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
        /// Evaluated whole with every edit already applied (`StorageEvaluator`), handed out chunk by chunk.
        case evaluated
        /// `"rng": "counter"`: any element range, computed on its own (`CounterFill`).
        case counter(TensorFill, CounterKey, UInt32)
    }

    private struct Current {
        let index: Int
        /// Next element to produce, in the full tensor's flat order.
        var position = 0
        var source: Source
        /// Where the sent elements (the shard) lie in the full tensor.
        let runs: Runs
        /// Elements sent so far.
        var emitted = 0

        /// True when any element range can be produced directly (not a sequential torch stream).
        var randomAccess: Bool { if case .cursor = source { false } else { true } }
    }

    private var current: Current?

    /// True when the current tensor has been handed out entirely (or none was begun).
    var isFinished: Bool {
        guard let c = current else { return true }
        return c.emitted >= c.runs.elements
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
        let runs = Runs(t.shard, total: record.count)
        var fill = TensorFill.constant(0)
        var generator: CPUGenerator?
        if !Self.isChunked(t, plan.timeline, counter: plan.counterStreams != nil) {
            var evaluator = StorageEvaluator(timeline: plan.timeline, snapshots: snapshots, counter: plan.counterStreams,
                                             mkl: plan.request.mkl.erfinv)
            let values = try evaluator.values(t.tensor, before: plan.timeline.ops.count)
            if record.count > 0 {
                switch values {
                case .float(let a):
                    let w = UnsafeMutableRawBufferPointer.allocate(byteCount: a.count * 4, alignment: 64)
                    _ = w.bindMemory(to: Float.self).initialize(from: a)
                    whole = w
                case .double(let a):
                    let w = UnsafeMutableRawBufferPointer.allocate(byteCount: a.count * 8, alignment: 64)
                    _ = w.bindMemory(to: Double.self).initialize(from: a)
                    whole = w
                }
            }
            current = Current(index: index, position: runs.first, source: .evaluated, runs: runs)
            return
        }
        if let base = t.baseOp {
            switch plan.timeline.ops[base].write {
            case .fill(let f) where plan.counterStreams != nil:
                let (key, ordinal) = plan.counterStreams!.stream(base)
                if CounterFill.isElementwise(f) {
                    current = Current(index: index, position: runs.first, source: .counter(f, key, ordinal), runs: runs)
                    return
                }
                if record.count > 0 {  // orthogonal: whole
                    let wide = Self.computesInDouble(record.dtype)
                    let w = UnsafeMutableRawBufferPointer.allocate(byteCount: record.count * (wide ? 8 : 4), alignment: 64)
                    whole = w
                    if wide {
                        let values = w.bindMemory(to: Double.self)
                        CounterFill.fill(f, key: key, ordinal: ordinal, start: 0, shape: record.shape, into: values)
                        applyEdits(t, values, at: 0)
                    } else {
                        let values = w.bindMemory(to: Float.self)
                        CounterFill.fill(f, key: key, ordinal: ordinal, start: 0, shape: record.shape, into: values)
                        applyEdits(t, values, at: 0)
                    }
                }
                current = Current(index: index, position: runs.first, source: .whole, runs: runs)
                return
            case .fill(let f):
                // Each tensor is generated once per stream: its snapshot is no longer needed after this.
                generator = takeSnapshot(base)
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
                current = Current(index: index, position: runs.first, source: .whole, runs: runs)
                return
            default:
                break  // zeroRow; a base is a whole fill or a checkpoint copy
            }
        }
        var cursor = FillCursor(fill: fill, shape: record.shape, generator: generator ?? Self.unusedGenerator,
                                mkl: plan.request.mkl.erfinv)
        // A shard: skip the draws before its first element (as far as torch's blocks allow), never compute them.
        cursor.usesWideDraws = record.dtype == .float64
        if runs.elements > 0 { cursor.skip(to: runs.first) }
        current = Current(index: index, position: cursor.position, source: .cursor(cursor), runs: runs)
    }

    /// Writes the next chunk of the current tensor, in its output dtype, at the start of `out`
    /// (`out.count ≥ maxChunkBytes`); returns the bytes written, 0 once the tensor is done.
    /// A float32 (float64) tensor written as float32 (float64) is generated in place when `out` is aligned
    /// (on a little-endian host the encoding is the identity); anything else goes through a reused scratch buffer.
    func next(into out: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            guard let c = current, !isFinished else { return 0 }
            let bytes = try nextChunk(c, into: out)
            if bytes > 0 || isFinished { return bytes }
        }
    }

    /// Elements of the full tensor in the chunk that starts at `c.position`.
    private func chunkElements(_ c: Current, _ t: PlannedTensor) -> Int {
        switch c.source {
        case .cursor(let cursor):
            return cursor.nextCount(limit: limit(t))
        case .whole, .evaluated, .counter:
            // Within the current run (random access: no element outside the shard is produced).
            let r = (c.position - c.runs.first) / c.runs.stride
            return min(limit(t), c.runs.start(r) + c.runs.length - c.position)
        }
    }

    /// The most bytes the next `next(into:)` writes: what its buffer must hold (often far less than `maxChunkBytes`).
    var upcomingBytes: Int {
        guard let c = current, !isFinished else { return 0 }
        let t = plan.tensors[c.index]
        // A shard of a sequential stream may first pass over chunks that hold none of its elements.
        if !c.randomAccess && c.runs.elements < t.record.count { return maxChunkBytes }
        return chunkElements(c, t) * t.outputDType.byteSize
    }

    /// One chunk of the full tensor from `c.position`; writes the part of it that is sent (may be none, for a shard
    /// produced from a sequential stream) and returns its byte count.
    private func nextChunk(_ current0: Current, into out: UnsafeMutableRawBufferPointer) throws -> Int {
        var c = current0
        let t = plan.tensors[c.index]
        let record = t.record
        let wide = Self.computesInDouble(record.dtype)
        let start = c.position
        let n = chunkElements(c, t)
        precondition(out.count >= n * t.outputDType.byteSize, "ValueGenerator.next: buffer of \(out.count) bytes for a chunk of \(n) elements")

        /// Produces elements start..<start+n of the tensor into `values` (n elements).
        func produce<T>(_ values: UnsafeMutableBufferPointer<T>, _ fillChunk: (inout FillCursor) -> Void,
                        _ counterChunk: (TensorFill, CounterKey, UInt32) -> Void) {
            switch c.source {
            case .cursor(var cursor):
                fillChunk(&cursor)
                c.source = .cursor(cursor)
            case .counter(let f, let key, let ordinal):
                counterChunk(f, key, ordinal)
            case .whole, .evaluated:
                let all = whole!.bindMemory(to: T.self)
                _ = values.initialize(from: all[start..<(start + n)])
            }
        }

        #if _endian(little)
        let aligned = Int(bitPattern: out.baseAddress) % 8 == 0
        #else
        let aligned = false
        #endif
        let editsDone: Bool
        switch c.source {
        case .evaluated, .whole: editsDone = true
        default: editsDone = false
        }
        let kept: Int
        if wide {
            let inPlace = record.dtype == .float64 && t.outputDType == .float64 && aligned
            let all = inPlace ? UnsafeMutableRawBufferPointer(rebasing: out[0..<(n * 8)]).bindMemory(to: Double.self) : scratch(Double.self, n)
            produce(all, { $0.next(into: all) }) { f, key, ordinal in
                CounterFill.fill(f, key: key, ordinal: ordinal, start: start, shape: record.shape, into: all)
            }
            if !editsDone { applyEdits(t, all, at: start) }
            kept = c.runs.compact(all, from: start)
            let values = all.extracting(0..<kept)
            let dst = UnsafeMutableRawBufferPointer(rebasing: out[0..<(kept * t.outputDType.byteSize)])
            if !inPlace {
                if record.dtype == .float64 {
                    encode(UnsafeBufferPointer(values), as: t.outputDType, into: dst)
                } else {
                    writeIntegers(values, as: record.dtype, into: dst)
                }
            }
        } else {
            let inPlace = record.dtype == .float32 && t.outputDType == .float32 && aligned
            let all = inPlace ? UnsafeMutableRawBufferPointer(rebasing: out[0..<(n * 4)]).bindMemory(to: Float.self) : scratch(Float.self, n)
            produce(all, { $0.next(into: all) }) { f, key, ordinal in
                CounterFill.fill(f, key: key, ordinal: ordinal, start: start, shape: record.shape, into: all)
            }
            if !editsDone { applyEdits(t, all, at: start) }
            kept = c.runs.compact(all, from: start)
            let values = all.extracting(0..<kept)
            let dst = UnsafeMutableRawBufferPointer(rebasing: out[0..<(kept * t.outputDType.byteSize)])
            if !inPlace {
                if record.dtype == .float16 || record.dtype == .bfloat16 { roundThrough(record.dtype, values) }
                if record.dtype == .bfloat16 && t.outputDType == .bfloat16 {
                    // A bfloat16 tensor's own values: torch's elementwise kernels store NaN as 0x7FC0 (c10's conversion).
                    for (i, v) in values.enumerated() {
                        dst.storeBytes(of: FloatBits.bfloat16(v).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                    }
                } else {
                    encode(UnsafeBufferPointer(values), as: t.outputDType, into: dst)
                }
            }
        }
        if case .cursor(let cursor) = c.source, cursor.isFinished, let b = t.baseOp, chainedTo[b] != nil {
            endStates[b] = cursor.generator  // the next fill's start (see `chainedFrom`)
        }
        c.emitted += kept
        c.position = start + n
        if c.randomAccess, c.emitted < c.runs.elements {
            let r = (c.position - c.runs.first) / c.runs.stride
            if c.position >= c.runs.start(r) + c.runs.length { c.position = c.runs.start(r + 1) }
        }
        current = c
        if isFinished {
            whole?.deallocate()
            whole = nil
        }
        return kept * t.outputDType.byteSize
    }

    /// Writes tensor `index` whole (in its output dtype) into `out` (`out.count` = its byte size), chunk by chunk.
    func generate(_ index: Int, into out: UnsafeMutableRawBufferPointer) throws {
        let t = plan.tensors[index]
        precondition(out.count == t.outputCount * t.outputDType.byteSize, "ValueGenerator.generate: buffer size mismatch")
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

    /// The edits after the base write that fall in elements start..<start+values.count, in order: zeroed rows,
    /// constant fills of windows, whole-tensor scalar ops (float16/bfloat16 values rounded before each).
    private func applyEdits(_ t: PlannedTensor, _ values: UnsafeMutableBufferPointer<Float>, at start: Int) {
        let dtype = t.record.dtype
        for op in t.edits {
            switch plan.timeline.ops[op].write {
            case .scalar(let s, _):
                roundTo(dtype, values)
                s.apply(values, dtype: dtype, mkl: plan.request.mkl.erfinv)
            case .windowFill(.constant(let v), let w):
                setWindow(w, to: Float(ScalarOpRounding.stored(v, dtype)), values, at: start)
            default:
                zeroRow(op, t, values, at: start)
            }
        }
    }

    private func applyEdits(_ t: PlannedTensor, _ values: UnsafeMutableBufferPointer<Double>, at start: Int) {
        for op in t.edits {
            switch plan.timeline.ops[op].write {
            case .scalar(let s, _):
                s.apply(values)
            case .windowFill(.constant(let v), let w):
                setWindow(w, to: ScalarOpRounding.stored(v, t.record.dtype), values, at: start)
            default:
                zeroRow(op, t, values, at: start)
            }
        }
    }

    /// A constant written to the window's elements that fall in this chunk.
    private func setWindow<T>(_ w: StorageWindow, to x: T, _ values: UnsafeMutableBufferPointer<T>, at start: Int) {
        let end = start + values.count
        if w.isContiguous {
            let lo = max(w.offset, start), hi = min(w.offset + w.count, end)
            if lo < hi { values.extracting((lo - start)..<(hi - start)).initialize(repeating: x) }
        } else {
            w.forEachOffset { _, o in if o >= start && o < end { values[o - start] = x } }
        }
    }

    private func zeroRow<T: BinaryFloatingPoint>(_ op: Int, _ t: PlannedTensor, _ values: UnsafeMutableBufferPointer<T>, at start: Int) {
        let end = start + values.count
        if case .zeroRow(let row) = plan.timeline.ops[op].write, let rows = t.record.shape.first, rows > 0 {
            let width = t.record.count / rows
            let lo = max(row * width, start), hi = min((row + 1) * width, end)
            if lo < hi { values.extracting((lo - start)..<(hi - start)).initialize(repeating: 0) }
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
