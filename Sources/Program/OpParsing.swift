import Foundation
import JSON
import Model
import Tensors
import TorchInit

/// The op vocabulary: name → its argument keys (besides op, site, module).
enum Vocabulary {
    static let arguments: [String: [String]] = [
        "manual_seed": ["seed"],
        "uniform_": ["out", "from", "to"],
        "normal_": ["out", "mean", "std"],
        "trunc_normal_": ["out", "mean", "std", "a", "b"],
        "fill_": ["out", "value"],
        "literal": ["out", "data"],
        "copy_": ["out", "src"],
        "mul_": ["out", "other"],
        "div_": ["out", "other"],
        "add_": ["out", "other", "alpha"],
        "sub_": ["out", "other", "alpha"],
        "clamp_": ["out", "min", "max"],
        "erfinv_": ["out"],
        "init_info_reset": ["storages", "info"],
        "init_info_update": ["storages", "info"],
    ]
    static let names = arguments.keys.sorted()
}

/// Parses and validates one op; `written[s]`: storage s was written by an earlier op.
struct OpParser {
    let storages: [Program.Storage]
    let sites: Int
    let limits: ProgramLimits
    var written: [Bool]
    /// The longest chain of copies the storage's current values come through (0: none).
    var copyDepth: [Int]
    var literalBytes = 0

    init(storages: [Program.Storage], sites: Int, limits: ProgramLimits) {
        self.storages = storages
        self.sites = sites
        self.limits = limits
        written = [Bool](repeating: false, count: storages.count)
        copyDepth = [Int](repeating: 0, count: storages.count)
    }

    mutating func parse(_ value: JSONValue, at: JSONPointer) throws(ModelError) -> ProgramOp {
        guard case .object(let o) = value else { throw .invalid(at, "an op must be an object, got \(value.typeName)") }
        guard case .string(let name)? = o["op"] else { throw .invalid(at / "op", "an op needs \"op\", a string: one of \(Vocabulary.names.joined(separator: ", "))") }
        guard let args = Vocabulary.arguments[name] else {
            let hint = closestName(to: name, in: Vocabulary.names).map { " (did you mean '\($0)'?)" } ?? ""
            throw .invalid(at / "op", "unknown op '\(name)'\(hint); the vocabulary is \(Vocabulary.names.joined(separator: ", "))")
        }
        let f = try Fields(value, at: at, what: "a \(name) op", allowed: ["op", "site", "module"] + args)
        let site = try f.int("site", in: 0...Int64(max(0, sites - 1)))
        if site != nil && sites == 0 { throw .invalid(at / "site", "the program has no sites") }
        let module = try f.string("module")
        let kind = try parseKind(name, f)
        if let out = kind.out {
            written[out.storage] = true
            let whole = out.window.coversWhole(storages[out.storage].numel)
            if case .copy(_, let src) = kind {
                let depth = copyDepth[src.storage] + 1
                copyDepth[out.storage] = whole && src.storage != out.storage ? depth : max(copyDepth[out.storage], depth)
            } else if whole, case .scalar = kind {
                // reads the values it replaces: the chain is unchanged
            } else if whole {
                copyDepth[out.storage] = 0
            }
        }
        let arguments = JSONObject(f.object.entries.filter { !["op", "site", "module"].contains($0.key) })
        return ProgramOp(name: name, kind: kind, arguments: arguments, site: site.map(Int.init), module: module)
    }

    private func window(_ f: Fields, _ key: String) throws(ModelError) -> WindowRef {
        try WindowRef(try f.required(key), at: f.at / key, storages: storages, limits: limits)
    }

    /// The `out` window of a write, with the checks every write makes.
    private func out(_ f: Fields, float: Bool = true, contiguous: Bool = false, op: String) throws(ModelError) -> WindowRef {
        let w = try window(f, "out")
        try w.checkWritable(at: f.at / "out")
        let dtype = storages[w.storage].dtype
        if float && !dtype.isFloatingPoint {
            throw .rejected(f.at / "out", "\(op) on a \(dtype) storage is not supported")
        }
        if contiguous && !w.window.isContiguous {
            throw .invalid(f.at / "out", "\(op) needs a contiguous window (torch takes another path on non-contiguous tensors; the tracer refuses them)")
        }
        return w
    }

    private mutating func parseKind(_ name: String, _ f: Fields) throws(ModelError) -> ProgramOp.Kind {
        let at = f.at
        func torch<T>(_ body: () throws(TorchError) -> T) throws(ModelError) -> T {
            do { return try body() } catch { throw .rejected(at, error.description) }
        }
        switch name {
        case "manual_seed":
            return .manualSeed(try f.requiredInt("seed"))
        case "uniform_":
            let w = try out(f, contiguous: true, op: name)
            let from = try f.number("from") ?? 0, to = try f.number("to") ?? 1
            let fill = try torch { () throws(TorchError) in try checkedUniform(from, to) }
            try torch { () throws(TorchError) in try checkFillArguments(fill, dtype: storages[w.storage].dtype) }
            return .fill(fill, w)
        case "normal_":
            let w = try out(f, contiguous: true, op: name)
            let mean = try f.number("mean") ?? 0, std = try f.number("std") ?? 1
            return .fill(try torch { () throws(TorchError) in try checkedNormal(mean: mean, std: std) }, w)
        case "trunc_normal_":
            let w = try out(f, contiguous: true, op: name)
            let mean = try f.number("mean") ?? 0, std = try f.number("std") ?? 1
            let a = try f.number("a") ?? -2, b = try f.number("b") ?? 2
            try TruncNormal.check(mean: mean, std: std, a: a, b: b, at: at)
            return .truncNormal(mean: mean, std: std, a: a, b: b, w)
        case "fill_":
            let w = try out(f, float: false, op: name)
            let v = try f.requiredNumber("value")
            try torch { () throws(TorchError) in try checkFillValue(v, dtype: storages[w.storage].dtype) }
            return .fill(.constant(v), w)
        case "literal":
            let w = try out(f, float: false, op: name)
            return .literal(try literal(f, w), w)
        case "copy_":
            let w = try out(f, float: false, op: name)
            let src = try window(f, "src")
            if !written[src.storage] {
                throw .invalid(at / "src", "copy_ from storage \(src.storage), which no earlier op wrote (its values would be uninitialized memory)")
            }
            if copyDepth[src.storage] >= limits.maxCopyDepth {
                throw .invalid(at / "src", "storage \(src.storage)'s values come through a chain of \(copyDepth[src.storage]) copies; the limit is \(limits.maxCopyDepth)")
            }
            let (s, o) = (src.window.shape, w.window.shape)
            let k = o.count - s.count
            var broadcasts = k >= 0
            if broadcasts { for d in s.indices where s[d] != 1 && s[d] != o[d + k] { broadcasts = false } }
            if !broadcasts {
                throw .rejected(at / "src", "RuntimeError: the shape \(s) of src cannot be broadcast to the shape \(o) of out")
            }
            return .copy(out: w, src: src)
        case "mul_", "div_", "add_", "sub_", "clamp_", "erfinv_":
            let w = try out(f, op: name)
            let op: ScalarOp
            switch name {
            case "mul_": op = .mul(try f.requiredNumber("other"))
            case "div_": op = .div(try f.requiredNumber("other"))
            case "add_": op = .add(try f.requiredNumber("other"), alpha: try f.number("alpha") ?? 1)
            case "sub_": op = .add(try f.requiredNumber("other"), alpha: -(try f.number("alpha") ?? 1))
            case "clamp_":
                let lo = try f.number("min"), hi = try f.number("max")
                if lo == nil && hi == nil { throw .rejected(at, "RuntimeError: torch.clamp: At least one of 'min' or 'max' must not be None") }
                op = .clamp(min: lo, max: hi)
            default: op = .erfinv
            }
            if let why = op.refusal(dtype: storages[w.storage].dtype) { throw .rejected(at, why) }
            return .scalar(op, w)
        default:  // init_info_reset, init_info_update
            let list = try f.array("storages", max: limits.maxStorages)
            var ids: [Int] = []
            for (i, v) in list.enumerated() {
                ids.append(Int(try Fields.int(v, at: at / "storages" / i, in: 0...Int64(max(0, storages.count - 1)))))
                if storages.isEmpty { throw .invalid(at / "storages" / i, "the program has no storages") }
            }
            let info = try f.requiredString("info")
            return name == "init_info_reset" ? .initInfoReset(storages: ids, info: info) : .initInfoUpdate(storages: ids, info: info)
        }
    }

    private mutating func literal(_ f: Fields, _ w: WindowRef) throws(ModelError) -> LiteralValues {
        let at = f.at / "data"
        let text = try f.requiredString("data")
        let dtype = storages[w.storage].dtype
        if text.utf8.count / 4 * 3 > limits.maxLiteralBytes - literalBytes {
            throw .invalid(at, "the program's literal data exceeds the limit of \(limits.maxLiteralBytes) bytes")
        }
        guard let data = Data(base64Encoded: text) else { throw .invalid(at, "not valid base64") }
        let expected = w.window.count * dtype.byteSize
        if data.count != expected {
            throw .invalid(at, "\(data.count) bytes for \(w.window.count) elements of \(dtype) (\(expected) bytes)")
        }
        literalBytes += data.count
        let values = LiteralValues(bytes: [UInt8](data), dtype: dtype)
        if dtype == .int64 {
            for i in 0..<values.count where abs(values.value(i)) >= 0x1p53 {
                throw .rejected(at, "int64 literal element \(i) is beyond ±2^53, which this service does not reproduce exactly")
            }
        }
        return values
    }
}

extension ProgramOp.Kind {
    /// The window an op writes.
    public var out: WindowRef? {
        switch self {
        case .fill(_, let w), .truncNormal(_, _, _, _, let w), .literal(_, let w), .scalar(_, let w): w
        case .copy(let w, _): w
        case .manualSeed, .initInfoReset, .initInfoUpdate: nil
        }
    }
}
