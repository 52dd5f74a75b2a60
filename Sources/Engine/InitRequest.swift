import JSON
import Tensors

/// The request body: `{"model" | "program", "seed"?, "dtype"?, "format"?, …}` (SPEC.md §5, docs/programs.md).
public struct InitRequest: Sendable {
    /// What to build: a model spec (module tree with init_cfg) or a traced program.
    public enum Source: Sendable {
        case model(JSONValue)
        case program(JSONValue)

        /// "model" or "program": the request field, the root of every pointer into it.
        public var key: String {
            switch self {
            case .model: "model"
            case .program: "program"
            }
        }
    }

    public var source: Source
    /// The seed used; generated when the request had none.
    public var seed: Int64
    public var seedWasGiven: Bool
    public var dtype: DType
    /// A program without "dtype" keeps each tensor's traced dtype (no `model.to(dtype)` call to reproduce).
    public var dtypeWasGiven: Bool
    public var format: CheckpointFormat
    /// Programs only: module path → MMEngine init_cfg, applied after the traced ops (docs/programs.md).
    public var initCfg: JSONValue?

    /// Only these state-dict entries are sent (nil: all).
    public var include: IncludeFilter?

    /// `"rng"`: "torch" (default: PyTorch's mt19937 stream, bit-exact) or "counter" (Philox4x32-10 keyed by seed and
    /// tensor name, docs/counter-rng.md).
    public enum RNG: String, Sendable { case torch, counter }
    public var rng: RNG = .torch
    public var rngWasGiven = false

    /// Only this slice of each tensor is sent (nil: whole tensors).
    public var shard: ShardSpec?

    /// `"mkl"`: the code path Intel MKL takes in the reference torch (the caller's), for the inits torch computes with
    /// MKL: `erfinv_` (trunc-normal by erfinv) and `orthogonal_` (QR). "sse4_2" (default) is MKL's path on AMD CPUs
    /// and on any CPU with `MKL_ENABLE_INSTRUCTIONS=SSE4_2`; on Intel CPUs MKL takes "avx2" or "avx512" (its erfinv
    /// differs from the SSE4.2 path's in about 1 value in 4,000 or 140). float32 erfinv is reproduced on all three;
    /// orthogonal_ and float64 erfinv only on "sse4_2". "other" is a torch without MKL. What is not reproduced is refused
    /// (`MKLPath.refusal`); every other init is the same bytes on every path.
    public enum MKLPath: String, Sendable, CaseIterable {
        case sse4_2, avx2, avx512, other
    }
    public var mkl: MKLPath = .sse4_2

    public static let keys = ["model", "program", "seed", "dtype", "format", "init_cfg", "include", "rng", "shard", "mkl"]
    public static let dtypes: [DType] = [.float32, .float16, .bfloat16, .float64]

    /// Validates the body; `defaultFormat` applies when the body has no "format".
    public init(_ body: JSONValue, defaultFormat: CheckpointFormat = .safetensors) throws(SpecError) {
        guard case .object(let o) = body else {
            throw SpecError(.invalid, at: .root, "the request body must be a JSON object with \"model\" or \"program\", got \(body.typeName)")
        }
        for key in o.keys where !InitRequest.keys.contains(key) {
            throw SpecError(.invalid, at: JSONPointer([key]), "unknown request field '\(key)'; expected \(InitRequest.keys.joined(separator: ", "))")
        }
        switch (o["model"], o["program"]) {
        case (let model?, nil): source = .model(model)
        case (nil, let program?): source = .program(program)
        case (nil, nil):
            throw SpecError(.invalid, at: .root, "the request needs a \"model\" (the module tree) or a \"program\" (a traced program)")
        case (_?, _?):
            throw SpecError(.invalid, at: JSONPointer(["program"]), "the request has both \"model\" and \"program\"; send exactly one")
        }
        switch (o["init_cfg"], source) {
        case (nil, _), (.null?, _): initCfg = nil
        case (let cfg?, .program): initCfg = cfg
        case (_?, .model):
            throw SpecError(.invalid, at: JSONPointer(["init_cfg"]),
                            "a request-level \"init_cfg\" applies to a \"program\"; a model spec carries init_cfg in its nodes")
        }
        switch o["seed"] {
        case nil, .null?:
            seed = Int64.random(in: 0...Int64.max)
            seedWasGiven = false
        case .int(let s)?:
            seed = s
            seedWasGiven = true
        case let v?:
            throw SpecError(.invalid, at: JSONPointer(["seed"]), "seed must be an integer in [-2^63, 2^63-1], got \(v.typeName)")
        }
        switch o["dtype"] {
        case nil, .null?: dtype = .float32; dtypeWasGiven = false
        case .string(let s)? where InitRequest.dtypes.contains(where: { $0.rawValue == s }): dtype = DType(rawValue: s)!; dtypeWasGiven = true
        case let v?:
            throw SpecError(.invalid, at: JSONPointer(["dtype"]),
                            "dtype must be one of \(InitRequest.dtypes.map(\.rawValue).joined(separator: ", ")), got \(v.stringValue.map { "'\($0)'" } ?? v.typeName)")
        }
        switch o["format"] {
        case nil, .null?: format = defaultFormat
        case .string(let s)? where CheckpointFormat(rawValue: s) != nil: format = CheckpointFormat(rawValue: s)!
        case let v?:
            throw SpecError(.invalid, at: JSONPointer(["format"]),
                            "format must be safetensors or pytorch, got \(v.stringValue.map { "'\($0)'" } ?? v.typeName)")
        }
        switch o["include"] {
        case nil, .null?: include = nil
        case let v?: include = try IncludeFilter(v, at: JSONPointer(["include"]))
        }
        switch o["rng"] {
        case nil, .null?: break
        case .string(let s)? where RNG(rawValue: s) != nil: rng = RNG(rawValue: s)!; rngWasGiven = true
        case let v?:
            throw SpecError(.invalid, at: JSONPointer(["rng"]),
                            "rng must be torch or counter, got \(v.stringValue.map { "'\($0)'" } ?? v.typeName)")
        }
        switch o["mkl"] {
        case nil, .null?: break
        case .string(let s)? where MKLPath(rawValue: s) != nil: mkl = MKLPath(rawValue: s)!
        case let v?:
            throw SpecError(.invalid, at: JSONPointer(["mkl"]),
                            "mkl must be one of \(MKLPath.allCases.map(\.rawValue).joined(separator: ", ")), got \(v.stringValue.map { "'\($0)'" } ?? v.typeName)")
        }
        switch o["shard"] {
        case nil, .null?: shard = nil
        case let v?: shard = try ShardSpec(v, at: JSONPointer(["shard"]))
        }
    }
}
