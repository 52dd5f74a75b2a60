import JSON
import Tensors

/// The request body: `{"model", "seed"?, "dtype"?, "format"?}` (SPEC.md §5).
public struct InitRequest: Sendable {
    public var model: JSONValue
    /// The seed used; generated when the request had none.
    public var seed: Int64
    public var seedWasGiven: Bool
    public var dtype: DType
    public var format: CheckpointFormat

    public static let keys = ["model", "seed", "dtype", "format"]
    public static let dtypes: [DType] = [.float32, .float16, .bfloat16, .float64]

    /// Validates the body; `defaultFormat` applies when the body has no "format".
    public init(_ body: JSONValue, defaultFormat: CheckpointFormat = .safetensors) throws(SpecError) {
        guard case .object(let o) = body else {
            throw SpecError(.invalid, at: .root, "the request body must be a JSON object with \"model\", got \(body.typeName)")
        }
        for key in o.keys where !InitRequest.keys.contains(key) {
            throw SpecError(.invalid, at: JSONPointer([key]), "unknown request field '\(key)'; expected \(InitRequest.keys.joined(separator: ", "))")
        }
        guard let model = o["model"] else { throw SpecError(.invalid, at: .root, "the request needs a \"model\" (the module tree)") }
        self.model = model
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
        case nil, .null?: dtype = .float32
        case .string(let s)? where InitRequest.dtypes.contains(where: { $0.rawValue == s }): dtype = DType(rawValue: s)!
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
    }
}
