import JSON
import Tensors
import TorchInit

/// A container's own `parameters` and `buffers` entries.
enum ContainerTensors {
    static func parameter(_ name: String, _ spec: JSONValue, at pointer: JSONPointer, module m: Module, builder b: ModelBuilder) throws(ModelError) {
        guard case .object(let o) = spec else { throw .invalid(pointer, "a parameter must be an object with a \"shape\"") }
        try onlyKeys(o, ["shape", "dtype", "requires_grad", "init"], at: pointer)
        let shape = try shapeValue(o["shape"], at: pointer / "shape", allowInteger: true)
        let dtype = try dtypeValue(o["dtype"], at: pointer / "dtype")
        var requiresGrad = true
        if let r = o["requires_grad"] {
            guard case .bool(let v) = r else { throw .invalid(pointer / "requires_grad", "requires_grad must be a boolean") }
            requiresGrad = v
        }
        if !dtype.isFloatingPoint {
            // nn.Parameter needs a float tensor to require grad, and MMEngine's init_weights takes every parameter's mean().
            throw .rejected(pointer / "dtype", requiresGrad
                ? "RuntimeError: Only Tensors of floating point and complex dtype can require gradients"
                : "RuntimeError: mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: \(dtype == .int64 ? "Long" : dtype == .int32 ? "Int" : "Bool")")
        }
        let t = try b.parameter(m, name, shape, dtype: dtype)
        let origin = b.timeline.addOrigin(Origin(initializer: "zeros", arguments: [:], phase: "construction", pointer: pointer))
        b.timeline.record(.fill(.constant(0)), on: t, origin: origin)
        if let initSpec = o["init"] {
            guard case .object(let io) = initSpec else { throw .invalid(pointer / "init", "init must be a tensor initializer object") }
            let ini = try TensorInitializer(io, at: pointer / "init")
            try apply(ini, to: t, phase: "construction", builder: b)
        }
    }

    static func buffer(_ name: String, _ spec: JSONValue, at pointer: JSONPointer, module m: Module, builder b: ModelBuilder) throws(ModelError) {
        guard case .object(let o) = spec else { throw .invalid(pointer, "a buffer must be an object with a \"shape\"") }
        try onlyKeys(o, ["shape", "dtype", "fill", "persistent"], at: pointer)
        let shape = try shapeValue(o["shape"], at: pointer / "shape")
        let dtype = try dtypeValue(o["dtype"], at: pointer / "dtype")
        var fill = 0.0
        if let f = o["fill"] {
            switch f {
            case .bool(let v): fill = v ? 1 : 0
            default:
                guard let d = f.numberValue else { throw .invalid(pointer / "fill", "fill must be a number") }
                fill = d
            }
        }
        var persistent = true
        if let p = o["persistent"] {
            guard case .bool(let v) = p else { throw .invalid(pointer / "persistent", "persistent must be a boolean") }
            persistent = v
        }
        do { try checkFillValue(fill, dtype: dtype) } catch { throw error.at(pointer / "fill") }
        let stored: Double = switch dtype {
        case .float64: fill
        case .int64, .int32: fill.rounded(.towardZero)
        case .bool: fill != 0 ? 1 : 0
        default: Double(Float(fill))
        }
        _ = try b.buffer(m, name, shape, dtype: dtype, fill: stored, persistent: persistent)
    }

    /// Applies a tensor initializer to one tensor (construction `init`, or an `init_weights` `param` step).
    static func apply(_ ini: TensorInitializer, to t: Int, phase: String, builder b: ModelBuilder) throws(ModelError) {
        let record = b.timeline.tensors[t]
        guard let fill = try ini.fill(shape: record.shape) else { return }
        if fill.isRandom && record.dtype != .float32 && record.dtype != .float64 {
            throw .invalid(ini.pointer, "random initializers are supported on float32 and float64 tensors, not \(record.dtype.rawValue)")
        }
        do { try checkFillArguments(fill, dtype: record.dtype) } catch { throw error.at(ini.pointer) }
        let origin = b.timeline.addOrigin(Origin(initializer: ini.functionName, arguments: ini.reportArguments, phase: phase, pointer: ini.pointer))
        b.timeline.record(.fill(fill), on: t, origin: origin)
    }

    private static func onlyKeys(_ o: JSONObject, _ allowed: [String], at pointer: JSONPointer) throws(ModelError) {
        for key in o.keys where !allowed.contains(key) {
            let hint = closestName(to: key, in: allowed).map { " (did you mean '\($0)'?)" } ?? ""
            throw .invalid(pointer / key, "unknown key '\(key)'\(hint); allowed: \(allowed.joined(separator: ", "))")
        }
    }

    /// `allowInteger`: parameters are `torch.zeros(shape)`, which takes a bare int as a 1-D size;
    /// buffers are `torch.full(shape, ...)`, which does not.
    private static func shapeValue(_ v: JSONValue?, at pointer: JSONPointer, allowInteger: Bool = false) throws(ModelError) -> [Int] {
        guard let v else { throw .invalid(pointer, "\"shape\" is required") }
        if allowInteger, case .int = v { return try shapeValue(.array([v]), at: pointer) }
        guard case .array(let items) = v else { throw .invalid(pointer, "shape must be a list of non-negative integers") }
        var out: [Int] = []
        for (i, item) in items.enumerated() {
            guard case .int(let d) = item else { throw .invalid(pointer / i, "a dimension must be an integer") }
            if d < 0 { throw .rejected(pointer / i, "RuntimeError: Trying to create tensor with negative dimension \(d): \(items.map { pythonRepr($0) })") }
            out.append(Int(d))
        }
        return out
    }

    private static func dtypeValue(_ v: JSONValue?, at pointer: JSONPointer) throws(ModelError) -> DType {
        guard let v else { return .float32 }
        guard case .string(let s) = v, let d = DType(rawValue: s) else {
            throw .invalid(pointer, "dtype must be one of \(DType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return d
    }
}
