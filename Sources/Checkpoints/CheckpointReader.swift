import JSON
import Tensors

/// The container formats the reader detects.
public enum CheckpointFormat: String, Sendable, Equatable {
    case safetensors
    /// torch.save, zip format (torch ≥ 1.6 default).
    case torchZip
    /// torch.save with `_use_new_zipfile_serialization=False` (concatenated pickles + raw storages).
    case torchLegacy
}

/// A tensor of a checkpoint's state dict: its geometry and where its storage lies in the file (never loaded eagerly).
public struct StoredTensor: Sendable, Equatable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    /// In elements, as torch reports them.
    public var strides: [Int]
    /// In elements from the start of the storage.
    public var storageOffset: Int
    /// The storage key (`data/<key>` in a zip; the tensor name for safetensors). Tied weights share it.
    public var storageKey: String
    /// Absolute byte range of the whole storage in the file.
    public var storageByteRange: Range<UInt64>

    public var numel: Int { Tensors.numel(shape) }
    public var isContiguous: Bool { numel == 0 || zip(shape, zip(strides, contiguousStrides(shape))).allSatisfy { $0 == 1 || $1.0 == $1.1 } }
    /// Absolute byte range of the tensor's data when `isContiguous`.
    public var contiguousByteRange: Range<UInt64>? {
        guard isContiguous else { return nil }
        let start = storageByteRange.lowerBound + UInt64(storageOffset * dtype.byteSize)
        return start ..< start + UInt64(numel * dtype.byteSize)
    }
}

/// A checkpoint opened for reading: the state dict's tensors (geometry only) plus a summary of the rest.
public struct LoadedCheckpoint: Sendable {
    public var path: String
    public var format: CheckpointFormat
    /// Keys of the top-level dict as stored (non-string keys shown as `<int 3>` etc.). safetensors: the tensor names.
    public var topLevelKeys: [String]
    /// `"state_dict"` when the tensors came from `checkpoint["state_dict"]` (MMEngine / mmcv); nil when the top-level
    /// dict itself is the state dict.
    public var stateDictKey: String?
    /// The tensors of the state dict in file/dict order, keys exactly as stored (no `module.` stripping).
    public var stateDict: [(key: String, tensor: StoredTensor)]
    /// Other state-dict values, as inert placeholders: non-tensors, and tensors of dtypes `DType` lacks (uint8, ...).
    public var otherEntries: [(key: String, description: String)]
    /// safetensors `__metadata__` (empty for torch files).
    public var metadata: [(key: String, value: String)]

    let source: ByteSource

    public func tensor(named name: String) -> StoredTensor? { stateDict.first { $0.key == name }?.tensor }

    /// The tensor's elements in row-major order, as little-endian bytes of `t.dtype` (strides/offset applied).
    public func readBytes(_ t: StoredTensor) throws(CheckpointReadError) -> [UInt8] {
        let size = t.dtype.byteSize
        let n = t.numel
        if n == 0 { return [] }
        if let r = t.contiguousByteRange {
            guard r.upperBound <= t.storageByteRange.upperBound else { throw CheckpointReadError(.malformed, "\(path): tensor \(t.name) reaches past its storage") }
            return try source.bytes(r)
        }
        // Strided: read the span the view touches, then gather.
        var last = t.storageOffset
        for (d, s) in zip(t.shape, t.strides) { last += (d - 1) * s }
        let spanStart = t.storageByteRange.lowerBound + UInt64(t.storageOffset * size)
        let spanEnd = t.storageByteRange.lowerBound + UInt64((last + 1) * size)
        guard spanEnd <= t.storageByteRange.upperBound else { throw CheckpointReadError(.malformed, "\(path): tensor \(t.name) reaches past its storage") }
        let span = try source.bytes(spanStart ..< spanEnd)
        var out = [UInt8](repeating: 0, count: n * size)
        let rank = t.shape.count
        var index = [Int](repeating: 0, count: rank)
        var src = 0   // element offset relative to storageOffset
        for k in 0 ..< n {
            let from = src * size
            for b in 0 ..< size { out[k * size + b] = span[from + b] }
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                src += t.strides[d]
                if index[d] < t.shape[d] { break }
                src -= t.strides[d] * index[d]
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

    /// Values converted to float32 as `tensor.to(torch.float32)` does (float64 rounds to nearest, ints convert, bool → 0/1).
    public func readFloat32(_ t: StoredTensor) throws(CheckpointReadError) -> [Float] {
        let b = try readBytes(t)
        let n = t.numel
        return b.withUnsafeBytes { raw in
            switch t.dtype {
            case .float32: return (0 ..< n).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            case .float64: return (0 ..< n).map { Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)))) }
            case .float16: return (0 ..< n).map { FloatBits.float(fromFloat16: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) }
            case .bfloat16: return (0 ..< n).map { FloatBits.float(fromBFloat16: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) }
            case .int64: return (0 ..< n).map { Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
            case .int32: return (0 ..< n).map { Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
            case .bool: return (0 ..< n).map { raw[$0] != 0 ? 1 : 0 }
            }
        }
    }

    /// Values converted to float64 (exact for every dtype except int64 beyond 2^53).
    public func readFloat64(_ t: StoredTensor) throws(CheckpointReadError) -> [Double] {
        if t.dtype == .int32 { return try readInt64(t).map { Double($0) } }
        if t.dtype == .float64 || t.dtype == .int64 {
            let b = try readBytes(t)
            return b.withUnsafeBytes { raw in
                (0 ..< t.numel).map { k -> Double in
                    let bits = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self))
                    return t.dtype == .float64 ? Double(bitPattern: bits) : Double(Int64(bitPattern: bits))
                }
            }
        }
        return try readFloat32(t).map(Double.init)
    }

    /// Integer values (int64/int32/bool exactly; floats truncated toward zero like `.to(torch.int64)`; NaN/out of range → error).
    public func readInt64(_ t: StoredTensor) throws(CheckpointReadError) -> [Int64] {
        let b = try readBytes(t)
        let n = t.numel
        switch t.dtype {
        case .int64: return b.withUnsafeBytes { raw in (0 ..< n).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) } }
        case .int32: return b.withUnsafeBytes { raw in (0 ..< n).map { Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) } }
        case .bool: return b.map { $0 != 0 ? 1 : 0 }
        default:
            var out: [Int64] = []
            for v in try readFloat64(t) {
                guard let i = Int64(exactly: v.rounded(.towardZero)) else { throw CheckpointReadError(.unsupported, "\(path): \(t.name) holds \(v), not an int64") }
                out.append(i)
            }
            return out
        }
    }
}

public enum CheckpointReader {
    /// Opens a checkpoint (safetensors, torch zip, or legacy torch) and lists its state dict, executing nothing.
    public static func load(path: String, limits: ReadLimits = .default) throws(CheckpointReadError) -> LoadedCheckpoint {
        try load(source: ByteSource(path: path), limits: limits)
    }

    /// The same for bytes in memory.
    public static func load(bytes: [UInt8], name: String = "<memory>", limits: ReadLimits = .default) throws(CheckpointReadError) -> LoadedCheckpoint {
        try load(source: ByteSource(bytes: bytes, name: name), limits: limits)
    }

    static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]

    static func detect(_ source: ByteSource) throws(CheckpointReadError) -> CheckpointFormat {
        let head = try source.bytes(0 ..< min(source.size, 16))
        if head.starts(with: [0x50, 0x4b, 0x03, 0x04]) { return .torchZip }
        if head.starts(with: [0x50, 0x4b, 0x05, 0x06]) {
            throw CheckpointReadError(.unrecognizedFormat, "\(source.path): an empty zip archive, not a checkpoint")
        }
        if head.first == 0x80 { return .torchLegacy }
        if head.count >= 9 {
            var r = LEReader(head)
            let n = r.u64()!
            if n >= 2, n <= source.size - 8, head[8] == UInt8(ascii: "{") { return .safetensors }
        }
        if source.size >= 512, try source.bytes(257 ..< 262) == Array("ustar".utf8) {
            throw CheckpointReadError(.unsupported, "\(source.path): a tar archive (the pre-0.4 torch format) is not supported")
        }
        throw CheckpointReadError(.unrecognizedFormat, "\(source.path): not a safetensors, torch zip or legacy torch checkpoint")
    }

    static func load(source: ByteSource, limits: ReadLimits) throws(CheckpointReadError) -> LoadedCheckpoint {
        switch try detect(source) {
        case .safetensors: return try loadSafetensors(source, limits: limits)
        case .torchZip: return try loadTorchZip(source, limits: limits)
        case .torchLegacy: return try loadTorchLegacy(source, limits: limits)
        }
    }

    // MARK: - safetensors

    static let safetensorsBits: [String: Int] = [
        "BOOL": 8, "U8": 8, "I8": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32,
        "C64": 64, "F64": 64, "I64": 64, "U64": 64, "F8_E4M3": 8, "F8_E5M2": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8,
        "F8_E5M2FNUZ": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
    ]

    static func loadSafetensors(_ source: ByteSource, limits: ReadLimits) throws(CheckpointReadError) -> LoadedCheckpoint {
        let path = source.path
        func bad(_ m: String) -> CheckpointReadError { CheckpointReadError(.malformed, "\(path): safetensors: \(m)") }
        var r = LEReader(try source.bytes(0 ..< 8))
        let n = r.u64()!
        guard n <= UInt64(limits.maxSafetensorsHeaderBytes) else {
            throw CheckpointReadError(.limitExceeded, "\(path): safetensors header of \(n) bytes exceeds the limit of \(limits.maxSafetensorsHeaderBytes)")
        }
        guard 8 + n <= source.size else { throw CheckpointReadError(.truncated, "\(path): safetensors header length \(n) runs past the end of the file") }
        let headerBytes = try source.bytes(8 ..< 8 + n)
        let json: JSONValue
        do { json = try JSONCodec.parse(headerBytes) } catch { throw bad("header is not valid JSON (\(error))") }
        guard case .object(let header) = json else { throw bad("header is not a JSON object") }
        let members = header.entries
        let dataStart = 8 + n
        let dataSize = source.size - dataStart
        var metadata: [(key: String, value: String)] = []
        var tensors: [(key: String, begin: UInt64, end: UInt64, dtype: String, shape: [Int])] = []
        var seen: [String: Int] = [:]
        for (key, value) in members {
            if key == "__metadata__" {
                guard case .object(let kv) = value else { throw bad("__metadata__ is not an object") }
                for (k, v) in kv.entries {
                    guard case .string(let s) = v else { throw bad("__metadata__ value for \(k) is not a string") }
                    metadata.append((k, s))
                }
                continue
            }
            guard case .object(let fields) = value else { throw bad("entry \(key) is not an object") }
            var dtype: String?, shape: [Int]?, offsets: [UInt64]?
            for (f, v) in fields.entries {
                switch f {
                case "dtype": if case .string(let s) = v { dtype = s }
                case "shape":
                    if case .array(let a) = v { shape = a.compactMap { $0.intValue.map { Int($0) } }; if shape!.count != a.count || shape!.contains(where: { $0 < 0 }) { shape = nil } }
                case "data_offsets":
                    if case .array(let a) = v { offsets = a.compactMap { v in v.intValue.flatMap { $0 >= 0 ? UInt64($0) : nil } }; if offsets!.count != 2 || a.count != 2 { offsets = nil } }
                default: break
                }
            }
            guard let dtype, let bits = safetensorsBits[dtype] else { throw bad("entry \(key) has a missing or unknown dtype") }
            guard let shape, shape.count <= limits.maxRank else { throw bad("entry \(key) has a bad shape") }
            guard let offsets, offsets[0] <= offsets[1] else { throw bad("entry \(key) has bad data_offsets") }
            guard offsets[1] <= dataSize else {
                throw CheckpointReadError(.truncated, "\(path): safetensors: entry \(key) ends at data byte \(offsets[1]) but the file holds \(dataSize) (truncated?)")
            }
            var count = 1
            for d in shape { let (p, o) = count.multipliedReportingOverflow(by: d); guard !o else { throw bad("entry \(key): shape overflows") }; count = p }
            let (totalBits, o) = count.multipliedReportingOverflow(by: bits)
            guard !o, totalBits % 8 == 0, UInt64(totalBits / 8) == offsets[1] - offsets[0] else {
                throw bad("entry \(key): \(offsets[1] - offsets[0]) bytes do not match dtype \(dtype) and shape \(shape)")
            }
            if let i = seen[key] { tensors[i] = (key, offsets[0], offsets[1], dtype, shape) }   // last occurrence wins
            else { seen[key] = tensors.count; tensors.append((key, offsets[0], offsets[1], dtype, shape)) }
            guard tensors.count <= limits.maxTensors else { throw CheckpointReadError(.limitExceeded, "\(path): more than \(limits.maxTensors) tensors") }
        }
        // The ranges must tile [0, dataSize) exactly, as the official loader requires.
        let sorted = tensors.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var cursor: UInt64 = 0
        for t in sorted {
            guard t.begin == cursor else { throw bad("tensor \(t.key) starts at \(t.begin), expected \(cursor) (gap or overlap)") }
            cursor = t.end
        }
        guard cursor == dataSize else {
            throw CheckpointReadError(cursor > dataSize ? .truncated : .malformed, "\(path): safetensors: tensors cover \(cursor) bytes but the file holds \(dataSize) data bytes")
        }
        var stateDict: [(key: String, tensor: StoredTensor)] = []
        var others: [(key: String, description: String)] = []
        for t in tensors {
            let dtype = DType.allCases.first { $0.safetensorsName == t.dtype }
            guard let dtype else { others.append((t.key, "tensor of unsupported dtype \(t.dtype), shape \(t.shape)")); continue }
            stateDict.append((t.key, StoredTensor(name: t.key, dtype: dtype, shape: t.shape, strides: contiguousStrides(t.shape), storageOffset: 0,
                                                  storageKey: t.key, storageByteRange: dataStart + t.begin ..< dataStart + t.end)))
        }
        return LoadedCheckpoint(path: path, format: .safetensors, topLevelKeys: tensors.map(\.key), stateDictKey: nil,
                                stateDict: stateDict, otherEntries: others, metadata: metadata, source: source)
    }

    // MARK: - torch zip

    static func loadTorchZip(_ source: ByteSource, limits: ReadLimits) throws(CheckpointReadError) -> LoadedCheckpoint {
        let path = source.path
        let zip = try ZipArchive(source, limits: limits)
        var byName: [String: Int] = [:]
        for (i, e) in zip.entries.enumerated() {
            guard byName.updateValue(i, forKey: e.name) == nil else {
                throw CheckpointReadError(.malformed, "\(path): zip holds two records named \(e.name)")
            }
        }
        let pickles = zip.entries.filter { e in
            e.name.hasSuffix("/data.pkl") && e.name.split(separator: "/", omittingEmptySubsequences: false).count == 2
        }
        guard pickles.count == 1 else {
            throw CheckpointReadError(pickles.isEmpty ? .unrecognizedFormat : .malformed,
                                      pickles.isEmpty ? "\(path): a zip without <archive>/data.pkl is not a torch checkpoint"
                                                      : "\(path): several <archive>/data.pkl records")
        }
        let prefix = String(pickles[0].name.dropLast("data.pkl".count))
        if byName[prefix + "constants.pkl"] != nil {
            throw CheckpointReadError(.unrecognizedFormat, "\(path): a TorchScript archive (torch.jit.save), not a state dict checkpoint")
        }
        if let i = byName[prefix + "byteorder"] {
            let order = try zip.read(zip.entries[i], maxBytes: 64)
            guard order == Array("little".utf8) else {
                throw CheckpointReadError(.unsupported, "\(path): byteorder '\(String(decoding: order, as: UTF8.self))' is not supported (little-endian only)")
            }
        }
        let pkl = try zip.read(pickles[0], maxBytes: limits.maxPickleBytes)
        let vm = PickleMachine(limits: limits, path: path + ":" + pickles[0].name)
        defer { vm.teardown() }
        var input = PickleInput(source: ByteSource(bytes: pkl, name: path + ":" + pickles[0].name), range: 0 ..< UInt64(pkl.count), maxBytes: limits.maxPickleBytes)
        let root = try vm.load(&input)
        var ranges: [String: Range<UInt64>] = [:]
        return try extract(root, vm: vm, source: source, format: .torchZip, limits: limits) { (key: String) throws(CheckpointReadError) -> Range<UInt64> in
            if let r = ranges[key] { return r }
            guard let i = byName[prefix + "data/" + key] else {
                throw CheckpointReadError(.malformed, "\(path): storage record \(prefix)data/\(key) is missing")
            }
            let r = try zip.dataRange(zip.entries[i])
            ranges[key] = r
            return r
        }
    }

    // MARK: - legacy

    static func loadTorchLegacy(_ source: ByteSource, limits: ReadLimits) throws(CheckpointReadError) -> LoadedCheckpoint {
        let path = source.path
        let vm = PickleMachine(limits: limits, path: path)
        defer { vm.teardown() }
        var input = PickleInput(source: source, range: 0 ..< source.size, maxBytes: limits.maxPickleBytes)
        let magic = try vm.load(&input)
        guard case .bigInt(let m) = magic, [0x80, 0x02, 0x8a, UInt8(m.count)] + m == legacyMagic else {
            throw CheckpointReadError(.unrecognizedFormat, "\(path): a pickle without torch's magic number (not a torch checkpoint)")
        }
        guard case .int(let protocolVersion) = try vm.load(&input), protocolVersion == 1001 else {
            throw CheckpointReadError(.unsupported, "\(path): unsupported legacy torch protocol version")
        }
        let sysInfo = try vm.load(&input)
        if case .object(let d) = sysInfo, d.isDict, case .bool(false)? = d.lookup("little_endian") {
            throw CheckpointReadError(.unsupported, "\(path): a big-endian legacy checkpoint is not supported")
        }
        let root = try vm.load(&input)
        let keysValue = try vm.load(&input)
        guard case .object(let keyList) = keysValue, keyList.kind == .list else {
            throw CheckpointReadError(.malformed, "\(path): legacy storage key list missing")
        }
        var ranges: [String: Range<UInt64>] = [:]
        var offset = input.position
        for k in keyList.items {
            guard case .string(let key) = k else { throw CheckpointReadError(.malformed, "\(path): legacy storage key \(k.summary) is not a string") }
            guard let storage = vm.storages[key] else { throw CheckpointReadError(.malformed, "\(path): legacy storage \(key) is not referenced by the pickle") }
            guard offset <= source.size, source.size - offset >= 8 else { throw CheckpointReadError(.truncated, "\(path): legacy storage \(key) is missing (truncated file?)") }
            var r = LEReader(try source.bytes(offset ..< offset + 8))
            let count = r.u64()!
            let itemSize = UInt64(storage.elementType?.itemSize ?? 1)
            guard count == UInt64(storage.count) else {
                throw CheckpointReadError(.malformed, "\(path): legacy storage \(key) holds \(count) elements, the pickle says \(storage.count)")
            }
            let bytes = count * itemSize
            guard source.size - offset - 8 >= bytes else { throw CheckpointReadError(.truncated, "\(path): legacy storage \(key) runs past the end of the file (truncated?)") }
            ranges[key] = offset + 8 ..< offset + 8 + bytes
            offset += 8 + bytes
        }
        return try extract(root, vm: vm, source: source, format: .torchLegacy, limits: limits) { (key: String) throws(CheckpointReadError) -> Range<UInt64> in
            guard let r = ranges[key] else { throw CheckpointReadError(.malformed, "\(path): legacy storage \(key) is not in the storage key list") }
            return r
        }
    }

    // MARK: - state dict extraction

    static func keyText(_ k: PValue) -> String {
        switch k {
        case .string(let s): return s
        case .int(let i): return "<int \(i)>"
        default: return "<\(k.summary)>"
        }
    }

    static func extract(_ root: PValue, vm: PickleMachine, source: ByteSource, format: CheckpointFormat, limits: ReadLimits,
                        storageRange: (String) throws(CheckpointReadError) -> Range<UInt64>) throws(CheckpointReadError) -> LoadedCheckpoint {
        let path = source.path
        guard case .object(let top) = root, top.isDict else {
            if case .object(let o) = root, case .opaque(let m, let n) = o.kind {
                throw CheckpointReadError(.notAStateDict, "\(path): the file holds a pickled \(m).\(n) object (a whole model?), not a dict; save model.state_dict() instead")
            }
            throw CheckpointReadError(.notAStateDict, "\(path): the top-level object is \(root.summary), not a dict of tensors")
        }
        let topKeys = top.pairs.map { keyText($0.key) }
        var sd = top
        var sdKey: String? = nil
        if case .object(let inner)? = top.lookup("state_dict"), inner.isDict {
            sd = inner
            sdKey = "state_dict"
        }
        var tensors: [(key: String, tensor: StoredTensor)] = []
        var others: [(key: String, description: String)] = []
        for (k, v) in sd.pairs {
            let key = keyText(k)
            switch v {
            case .tensor(let t):
                guard let dtype = t.elementType.dtype else {
                    others.append((key, "tensor of unsupported dtype \(t.elementType.name), shape \(t.shape)"))
                    continue
                }
                let range = try storageRange(t.storage.key)
                guard UInt64(t.storage.byteCount) <= UInt64(range.count) else {
                    throw CheckpointReadError(.malformed, "\(path): storage \(t.storage.key) of \(key) needs \(t.storage.byteCount) bytes, its record has \(range.count)")
                }
                tensors.append((key, StoredTensor(name: key, dtype: dtype, shape: t.shape, strides: t.strides, storageOffset: t.offset,
                                                  storageKey: t.storage.key, storageByteRange: range.lowerBound ..< range.lowerBound + UInt64(t.storage.byteCount))))
                guard tensors.count <= limits.maxTensors else { throw CheckpointReadError(.limitExceeded, "\(path): more than \(limits.maxTensors) tensors") }
            case .invalid(let why):
                throw CheckpointReadError(.unsafeContent, "\(path): state dict entry '\(key)': \(why)")
            default:
                others.append((key, v.summary))
            }
        }
        if tensors.isEmpty, sdKey == nil, !top.pairs.isEmpty, others.allSatisfy({ !$0.description.hasPrefix("tensor") }) {
            // A dict without tensors at all (e.g. only `model` / `optimizer` sub-dicts): report what is there.
            let summary = top.pairs.prefix(8).map { "\(keyText($0.key)): \($0.value.summary)" }.joined(separator: ", ")
            throw CheckpointReadError(.notAStateDict, "\(path): no tensors at the top level or under 'state_dict' (top level: \(summary))")
        }
        return LoadedCheckpoint(path: path, format: format, topLevelKeys: topKeys, stateDictKey: sdKey, stateDict: tensors,
                                otherEntries: others, metadata: [], source: source)
    }
}
