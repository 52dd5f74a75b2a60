import Model
import Tensors
import TorchInit
import TorchRandom

/// A storage's values at one point of the timeline, computed whole: what a traced program's windowed writes,
/// literals and copies need (the chunked path covers whole fills followed by elementwise edits).
/// float32/float16/bfloat16 storages hold floats (rounded to their dtype after every write), the others doubles.
struct StorageEvaluator {
    enum Values {
        case float([Float])
        case double([Double])

        func value(_ i: Int) -> Double {
            switch self {
            case .float(let a): Double(a[i])
            case .double(let a): a[i]
            }
        }
    }

    private struct Key: Hashable {
        let storage: Int
        let version: Int
    }

    let timeline: Timeline
    /// Generator state before each random write that is evaluated (`ValueGenerator.prepare`).
    let snapshots: [Int: CPUGenerator]
    /// `"rng": "counter"`: random writes come from their Philox streams instead of snapshots.
    let counter: CounterStreams?
    /// MKL's code path, for erfinv.
    let mkl: ErfinvMKL.Path
    private var cache: [Key: Values] = [:]

    init(timeline: Timeline, snapshots: [Int: CPUGenerator], counter: CounterStreams? = nil, mkl: ErfinvMKL.Path = .sse4_2) {
        self.timeline = timeline
        self.snapshots = snapshots
        self.counter = counter
        self.mkl = mkl
    }

    static func computesInDouble(_ dtype: DType) -> Bool {
        switch dtype {
        case .float32, .float16, .bfloat16: false
        default: true
        }
    }

    /// True when `write` replaces every value of a storage of `count` elements without reading them.
    static func overwritesWhole(_ write: TensorWrite, storage: Int, count: Int) -> Bool {
        switch write {
        case .fill, .copy: return true
        case .zeroRow, .scalar: return false
        case .copyWindow(let src, _, _, let out): return src != storage && out.coversWhole(count)
        case .windowFill(_, let w), .literal(_, let w), .truncNormal(_, _, _, _, let w): return w.coversWhole(count)
        }
    }

    /// The ops (indices into the timeline) that decide storage `s` before op `version`: from its last whole
    /// overwrite on.
    static func deciding(_ timeline: Timeline, _ s: Int, before version: Int) -> ArraySlice<Int> {
        let writes = timeline.writes[s]
        let end = writes.firstIndex { $0 >= version } ?? writes.count
        let count = timeline.tensors[s].count
        let start = writes[..<end].lastIndex { overwritesWhole(timeline.ops[$0].write, storage: s, count: count) } ?? 0
        return writes[start..<end]
    }

    /// Every op evaluating storage `s` before `version` runs, transitively through copy sources.
    static func neededOps(_ timeline: Timeline, _ s: Int, before version: Int, into needed: inout Set<Int>,
                          visited: inout Set<[Int]>) {
        var work = [(s, version)]
        while let (s, v) = work.popLast() {
            guard visited.insert([s, v]).inserted else { continue }
            for op in deciding(timeline, s, before: v) {
                needed.insert(op)
                if case .copyWindow(let src, let version, _, _) = timeline.ops[op].write { work.append((src, version)) }
            }
        }
    }

    /// What evaluating storage `s` before `version` costs: element operations (each deciding op over its storage,
    /// transitively through copy sources, each (storage, version) pair once, as the evaluation's cache does) and
    /// the elements the cache holds. Stops counting past `limit` operations.
    static func cost(_ timeline: Timeline, _ s: Int, before version: Int, visited: inout Set<[Int]>,
                     operations: inout UInt64, cached: inout UInt64, limit: UInt64) {
        var work = [(s, version)]
        while let (s, v) = work.popLast(), operations <= limit {
            guard visited.insert([s, v]).inserted else { continue }
            let ops = deciding(timeline, s, before: v)
            let n = UInt64(timeline.tensors[s].count)
            operations &+= n &* UInt64(max(ops.count, 1))
            cached &+= n
            for op in ops {
                if case .copyWindow(let src, let version, _, _) = timeline.ops[op].write { work.append((src, version)) }
            }
        }
    }

    /// The values of storage `s` after every write before op `version`.
    mutating func values(_ s: Int, before version: Int) throws -> Values {
        if let v = cache[Key(storage: s, version: version)] { return v }
        let record = timeline.tensors[s]
        let ops = StorageEvaluator.deciding(timeline, s, before: version)
        let result: Values
        if StorageEvaluator.computesInDouble(record.dtype) {
            var a = [Double](repeating: 0, count: record.count)
            try a.withUnsafeMutableBufferPointer { buf in
                for op in ops { try apply(op, to: buf, dtype: record.dtype) }
            }
            result = .double(a)
        } else {
            var a = [Float](repeating: 0, count: record.count)
            try a.withUnsafeMutableBufferPointer { buf in
                for op in ops { try apply(op, to: buf, dtype: record.dtype) }
            }
            result = .float(a)
        }
        cache[Key(storage: s, version: version)] = result
        return result
    }

    /// A missing snapshot is a bug of the replay's bookkeeping, not of the request: it ends this stream with an
    /// error instead of trapping the server (found by FuzzProgram: a storage streamed chunk by chunk whose random
    /// fill was released before a later copy evaluated it whole; Fuzz/regressions/FuzzProgram).
    private func generator(_ op: Int) throws -> CPUGenerator {
        guard let g = snapshots[op] else { throw ReplayError(message: "internal error: no generator snapshot for op \(op) of the replay") }
        return g
    }

    private mutating func apply(_ op: Int, to buf: UnsafeMutableBufferPointer<Float>, dtype: DType) throws {
        let write = timeline.ops[op].write
        switch write {
        case .fill(let f):
            if case .constant(let v) = f {
                buf.initialize(repeating: Float(ScalarOpRounding.stored(v, dtype)))
            } else if let c = counter {
                let (key, ordinal) = c.stream(op)
                CounterFill.fill(f, key: key, ordinal: ordinal, start: 0, shape: timeline.tensors[timeline.ops[op].tensor].shape, into: buf)
                roundTo(dtype, buf)
            } else {
                var g = try generator(op)
                f.apply(to: buf, dtype: dtype, generator: &g, mkl: mkl)
            }
        case .windowFill(let f, let w):
            if case .constant(let v) = f {
                let x = Float(ScalarOpRounding.stored(v, dtype))
                w.forEachOffset { _, o in buf[o] = x }
            } else if let c = counter {
                let (key, ordinal) = c.stream(op)
                let part = buf.extracting(w.offset..<(w.offset + w.count))
                CounterFill.fill(f, key: key, ordinal: ordinal, start: w.offset, shape: w.shape, into: part)
                roundTo(dtype, part)
            } else {
                var g = try generator(op)
                f.apply(to: buf.extracting(w.offset..<(w.offset + w.count)), dtype: dtype, generator: &g, mkl: mkl)
            }
        case .truncNormal(let mean, let std, let a, let b, let w):
            if let c = counter {
                let (key, ordinal) = c.stream(op)
                CounterFill.truncNormal(buf.extracting(w.offset..<(w.offset + w.count)), dtype: dtype, mean: mean, std: std,
                                        a: a, b: b, key: key, ordinal: ordinal, start: w.offset)
                return
            }
            var g = try generator(op)
            TruncNormalSampler.sample(buf.extracting(w.offset..<(w.offset + w.count)), dtype: dtype, mean: mean, std: std, a: a, b: b, &g)
        case .literal(let values, let w):
            w.forEachOffset { i, o in buf[o] = Float(values.value(i)) }
        case .copyWindow(let src, let version, let sw, let ow):
            let source = try values(src, before: version)
            let offsets = ow.broadcastOffsets(of: sw)
            ow.forEachOffset { i, o in buf[o] = Float(convert(source.value(offsets[i]), to: dtype)) }
        case .scalar(let s, let w):
            if w.coversWhole(buf.count) {
                s.apply(buf, dtype: dtype, mkl: mkl)
            } else {
                var tmp = [Float](repeating: 0, count: w.count)
                w.forEachOffset { i, o in tmp[i] = buf[o] }
                tmp.withUnsafeMutableBufferPointer { s.apply($0, dtype: dtype, mkl: mkl) }
                w.forEachOffset { i, o in buf[o] = tmp[i] }
            }
        case .copy(let source):
            try source.read(into: buf)
            roundTo(dtype, buf)
        case .zeroRow:
            preconditionFailure("StorageEvaluator: zeroRow is a spec write, generated by the chunked path")
        }
    }

    private mutating func apply(_ op: Int, to buf: UnsafeMutableBufferPointer<Double>, dtype: DType) throws {
        let write = timeline.ops[op].write
        switch write {
        case .fill(let f):
            if case .constant(let v) = f {
                buf.initialize(repeating: ScalarOpRounding.stored(v, dtype))
            } else if let c = counter {
                let (key, ordinal) = c.stream(op)
                CounterFill.fill(f, key: key, ordinal: ordinal, start: 0, shape: timeline.tensors[timeline.ops[op].tensor].shape, into: buf)
            } else {
                var g = try generator(op)
                f.apply(to: buf, shape: [buf.count], generator: &g)
            }
        case .windowFill(let f, let w):
            if case .constant(let v) = f {
                let x = ScalarOpRounding.stored(v, dtype)
                w.forEachOffset { _, o in buf[o] = x }
            } else if let c = counter {
                let (key, ordinal) = c.stream(op)
                CounterFill.fill(f, key: key, ordinal: ordinal, start: w.offset, shape: w.shape,
                                 into: buf.extracting(w.offset..<(w.offset + w.count)))
            } else {
                var g = try generator(op)
                f.apply(to: buf.extracting(w.offset..<(w.offset + w.count)), shape: [w.count], generator: &g)
            }
        case .truncNormal(let mean, let std, let a, let b, let w):
            if let c = counter {
                let (key, ordinal) = c.stream(op)
                CounterFill.truncNormal(buf.extracting(w.offset..<(w.offset + w.count)), mean: mean, std: std,
                                        a: a, b: b, key: key, ordinal: ordinal, start: w.offset)
                return
            }
            var g = try generator(op)
            TruncNormalSampler.sample(buf.extracting(w.offset..<(w.offset + w.count)), mean: mean, std: std, a: a, b: b, &g)
        case .literal(let values, let w):
            w.forEachOffset { i, o in buf[o] = values.value(i) }
        case .copyWindow(let src, let version, let sw, let ow):
            let source = try values(src, before: version)
            let offsets = ow.broadcastOffsets(of: sw)
            ow.forEachOffset { i, o in buf[o] = convert(source.value(offsets[i]), to: dtype) }
        case .scalar(let s, let w):
            if w.coversWhole(buf.count) {
                s.apply(buf)
            } else {
                var tmp = [Double](repeating: 0, count: w.count)
                w.forEachOffset { i, o in tmp[i] = buf[o] }
                tmp.withUnsafeMutableBufferPointer { s.apply($0) }
                w.forEachOffset { i, o in buf[o] = tmp[i] }
            }
        case .copy(let source):
            try source.read(into: buf)
        case .zeroRow:
            preconditionFailure("StorageEvaluator: zeroRow is a spec write, generated by the chunked path")
        }
    }
}

/// The replay cannot produce a value it planned (a bug, reported instead of trapping).
struct ReplayError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// `copy_`'s dtype conversion of one value (held exactly as a double) into a tensor of `dtype`:
/// to float16/bfloat16 through float (as torch converts a double), to integers by truncation
/// (x86 `cvtt*`: NaN, infinities and out-of-range values become the most negative integer), to bool by `!= 0`.
func convert(_ v: Double, to dtype: DType) -> Double {
    switch dtype {
    case .float64: return v
    case .float32: return Double(Float(v))
    case .float16: return Double(FloatBits.float(fromFloat16: FloatBits.float16(Float(v))))
    case .bfloat16: return Double(FloatBits.float(fromBFloat16: FloatBits.bfloat16(Float(v))))
    case .int64:
        return v.isFinite && v > -0x1p63 - 1 && v < 0x1p63 ? v.rounded(.towardZero) : -0x1p63
    case .int32:
        return v.isFinite && v > -0x1p31 - 1 && v < 0x1p31 ? v.rounded(.towardZero) : -0x1p31
    case .bool:
        return v != 0 ? 1 : 0
    }
}
