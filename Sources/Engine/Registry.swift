import JSON
import MMEngine
import Model

extension Engine {
    /// The `GET /initializers` document: MMEngine's initializer registry, the module init functions and
    /// tensor initializers `init_weights` steps may use, and the supported module types.
    public static func registry() -> JSONValue {
        let initializers: [JSONValue] = WeightInitRegistry.entries.map { e in
            .object([
                "name": .string(e.name),
                "class": .string(e.className),
                "description": .string(e.description),
                "arguments": .array(e.arguments.map { a in
                    var o: JSONObject = ["name": .string(a.name), "type": .string(a.type), "required": .bool(a.defaultValue == nil)]
                    if let d = a.defaultValue { o["default"] = d }
                    return .object(o)
                }),
            ])
        }
        let functions: [JSONValue] = [
            ("constant_init", ["val", "bias=0"]), ("xavier_init", ["gain=1", "bias=0", "distribution='normal'"]),
            ("normal_init", ["mean=0", "std=1", "bias=0"]), ("trunc_normal_init", ["mean=0", "std=1", "a=-2", "b=2", "bias=0"]),
            ("uniform_init", ["a=0", "b=1", "bias=0"]),
            ("kaiming_init", ["a=0", "mode='fan_out'", "nonlinearity='relu'", "bias=0", "distribution='normal'"]),
            ("caffe2_xavier_init", ["bias=0"]),
        ].map { .object(["name": .string($0.0), "signature": .string("\($0.0)(module, \($0.1.joined(separator: ", ")))"),
                         "arguments": .array($0.1.map { .string($0) })]) }
        let tensorInitializers: [JSONValue] = [
            ("Constant", "val=0", "constant_"), ("Zeros", "", "zeros_"), ("Ones", "", "ones_"), ("Normal", "mean=0, std=1", "normal_"),
            ("Uniform", "a=0, b=1", "uniform_"), ("TruncNormal", "mean=0, std=1, a=-2, b=2", "mmengine trunc_normal_"),
            ("Xavier", "gain=1, distribution='normal'", "xavier_normal_ / xavier_uniform_"),
            ("Kaiming", "a=0, mode='fan_out', nonlinearity='relu', distribution='normal'", "kaiming_normal_ / kaiming_uniform_"),
            ("Orthogonal", "gain=1", "orthogonal_ (not bit-exact: LAPACK QR)"),
        ].map { .object(["type": .string($0.0), "arguments": .string($0.1), "calls": .string($0.2)]) }
        let modules: [JSONValue] = ModelSpec.leafTypes.map { t in
            .object([
                "type": .string(t),
                "bases": .array(LeafSignatures.bases(of: t).map { .string($0) }),
                "arguments": .array(LeafSignatures.arguments(of: t).map { a in
                    var o: JSONObject = ["name": .string(a.name), "required": .bool(a.required)]
                    if let d = a.defaultValue { o["default"] = d }
                    return .object(o)
                }),
            ])
        }
        return .object([
            "service": .string("weightinit \(version)"),
            "reference": .object(InitReport.reference),
            "initializers": .array(initializers),
            "module_init_functions": .array(functions),
            "tensor_initializers": .array(tensorInitializers),
            "modules": .array(modules),
            "container_keys": .array(ModelSpec.reservedKeys.map { .string($0) }),
        ])
    }
}
