import JSON

/// Reads a leaf's constructor keyword arguments with PyTorch's names, defaults and checks.
/// Every argument must be consumed; anything left is an unexpected keyword, as Python says.
/// Largest integer argument accepted (2^40).
let maxArgument: UInt64 = 1 << 40

struct LeafArguments {
    let className: String
    let node: JSONObject
    let pointer: JSONPointer
    private var used: Set<String> = ["type"]

    init(className: String, node: JSONObject, pointer: JSONPointer) {
        self.className = className
        self.node = node
        self.pointer = pointer
    }

    func at(_ name: String) -> JSONPointer { pointer / name }

    private mutating func take(_ name: String) -> JSONValue? {
        used.insert(name)
        guard let v = node[name], v != .null else { return nil }
        return v
    }

    private func missing(_ name: String) -> ModelError {
        .rejected(pointer, "TypeError: \(className).__init__() missing 1 required positional argument: '\(name)'")
    }

    private func wrongType(_ name: String, _ v: JSONValue, _ want: String) -> ModelError {
        .invalid(at(name), "\(className) argument '\(name)' must be \(want), got \(v.typeName)")
    }

    mutating func int(_ name: String, default def: Int? = nil) throws(ModelError) -> Int {
        guard let v = take(name) else {
            if let def { return def }
            throw missing(name)
        }
        guard case .int(let i) = v else { throw wrongType(name, v, "an integer") }
        return try bounded(i, name)
    }

    /// Integer arguments are sizes, counts or indices: beyond 2^40 they only serve to overflow the arithmetic
    /// that follows (3·embed_dim, fan products), so they are refused up front.
    private func bounded(_ i: Int64, _ name: String, index: Int? = nil) throws(ModelError) -> Int {
        guard i.magnitude <= maxArgument else {
            throw .invalid(index.map { at(name) / $0 } ?? at(name), "\(className) argument '\(name)' is too large (\(i)); sizes are limited to 2^40")
        }
        return Int(i)
    }

    /// A size that becomes a tensor dimension: negative is torch's error.
    mutating func size(_ name: String, default def: Int? = nil) throws(ModelError) -> Int {
        let n = try int(name, default: def)
        if n < 0 {
            throw .rejected(at(name), "RuntimeError: Trying to create tensor with negative dimension \(n): \(name)=\(n)")
        }
        return n
    }

    mutating func optionalInt(_ name: String) throws(ModelError) -> Int? {
        guard let v = take(name) else { return nil }
        guard case .int(let i) = v else { throw wrongType(name, v, "an integer or null") }
        return try bounded(i, name)
    }

    mutating func bool(_ name: String, default def: Bool) throws(ModelError) -> Bool {
        guard let v = take(name) else { return def }
        switch v {
        case .bool(let b): return b
        case .int(let i) where i == 0 || i == 1: return i == 1
        default: throw wrongType(name, v, "a boolean")
        }
    }

    mutating func double(_ name: String, default def: Double) throws(ModelError) -> Double {
        guard let v = take(name) else { return def }
        guard let d = v.numberValue else { throw wrongType(name, v, "a number") }
        return d
    }

    mutating func string(_ name: String, default def: String) throws(ModelError) -> String {
        guard let v = take(name) else { return def }
        guard case .string(let s) = v else { throw wrongType(name, v, "a string") }
        return s
    }

    /// `kernel_size=3` or `(3, 3)`: PyTorch's `_ntuple`.
    mutating func tuple(_ name: String, dims: Int, default def: [Int]? = nil) throws(ModelError) -> [Int] {
        guard let v = take(name) else {
            if let def { return def }
            throw missing(name)
        }
        switch v {
        case .int(let i):
            return Array(repeating: try bounded(i, name), count: dims)
        case .array(let items):
            var out: [Int] = []
            for (k, item) in items.enumerated() {
                guard case .int(let i) = item else {
                    throw .invalid(at(name) / k, "\(className) argument '\(name)' must hold integers")
                }
                out.append(try bounded(i, name, index: k))
            }
            return out
        default:
            throw wrongType(name, v, "an integer or a list of integers")
        }
    }

    /// `normalized_shape=4` or `[4, 5]`.
    mutating func shape(_ name: String) throws(ModelError) -> [Int] {
        guard let v = take(name) else { throw missing(name) }
        let dims: [Int]
        switch v {
        case .int(let i): dims = [Int(i)]
        case .array:
            dims = try tuple(name, dims: 0)
        default: throw wrongType(name, v, "an integer or a list of integers")
        }
        if let neg = dims.first(where: { $0 < 0 }) {
            throw .rejected(at(name), "RuntimeError: Trying to create tensor with negative dimension \(neg): \(dims)")
        }
        return dims
    }

    /// `device=` and `dtype=`, which every torch.nn layer with parameters takes (factory_kwargs). Only what builds
    /// the same CPU float32 tensors is accepted: a "cpu" device, and dtype None (torch itself refuses a dtype string).
    mutating func factoryArguments() throws(ModelError) {
        if let d = take("device") {
            guard case .string(let s) = d, s == "cpu" || s.hasPrefix("cpu:") else {
                throw .invalid(at("device"), "\(className) is built on the CPU: device must be \"cpu\" or null")
            }
        }
        if let d = take("dtype") {
            throw .rejected(at("dtype"), "TypeError: \(className) dtype must be None (a torch.dtype cannot be written in JSON), got \(d.typeName); use the request's \"dtype\"")
        }
    }

    /// Accepts an argument PyTorch has but that does not change parameters (stride, padding, p, ...).
    mutating func ignore(_ names: String...) {
        for n in names { used.insert(n) }
    }

    /// Errors on any argument not consumed, naming the closest known one.
    func finish(known: [String] = []) throws(ModelError) {
        for key in node.keys where !used.contains(key) {
            let hint = closestName(to: key, in: Array(used.subtracting(["type"])) + known).map { " (did you mean '\($0)'?)" } ?? ""
            throw .rejected(at(key), "TypeError: \(className).__init__() got an unexpected keyword argument '\(key)'\(hint)")
        }
    }
}
