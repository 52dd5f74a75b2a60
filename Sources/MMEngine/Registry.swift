import JSON
import Model

/// MMEngine's `WEIGHT_INITIALIZERS` registry: names, classes, arguments and defaults.
public enum WeightInitRegistry {
    public struct Argument: Sendable {
        public let name: String
        public let type: String
        /// nil: required.
        public let defaultValue: JSONValue?
    }

    public struct Entry: Sendable {
        public let name: String
        public let className: String
        public let arguments: [Argument]
        public let description: String
    }

    static let base: [Argument] = [
        Argument(name: "bias", type: "int | float", defaultValue: 0),
        Argument(name: "bias_prob", type: "float | None", defaultValue: .null),
        Argument(name: "layer", type: "str | list[str] | None", defaultValue: .null),
    ]

    public static let entries: [Entry] = [
        Entry(name: "Constant", className: "ConstantInit",
              arguments: [Argument(name: "val", type: "int | float", defaultValue: nil)] + base,
              description: "Fill weights with `val` and biases with `bias` (constant_init)."),
        Entry(name: "Xavier", className: "XavierInit",
              arguments: [Argument(name: "gain", type: "int | float", defaultValue: 1),
                          Argument(name: "distribution", type: "'normal' | 'uniform'", defaultValue: "normal")] + base,
              description: "Xavier/Glorot init of weights (xavier_normal_ or xavier_uniform_), constant bias."),
        Entry(name: "Normal", className: "NormalInit",
              arguments: [Argument(name: "mean", type: "int | float", defaultValue: 0),
                          Argument(name: "std", type: "int | float", defaultValue: 1)] + base,
              description: "Weights from N(mean, std²) (normal_), constant bias."),
        Entry(name: "TruncNormal", className: "TruncNormalInit",
              arguments: [Argument(name: "mean", type: "int | float", defaultValue: 0),
                          Argument(name: "std", type: "int | float", defaultValue: 1),
                          Argument(name: "a", type: "int | float", defaultValue: -2),
                          Argument(name: "b", type: "int | float", defaultValue: 2)] + base,
              description: "Weights from N(mean, std²) truncated to the absolute bounds [a, b] (MMEngine's trunc_normal_), constant bias."),
        Entry(name: "Uniform", className: "UniformInit",
              arguments: [Argument(name: "a", type: "int | float", defaultValue: 0),
                          Argument(name: "b", type: "int | float", defaultValue: 1)] + base,
              description: "Weights from U(a, b) (uniform_), constant bias."),
        Entry(name: "Kaiming", className: "KaimingInit",
              arguments: [Argument(name: "a", type: "int | float", defaultValue: 0),
                          Argument(name: "mode", type: "'fan_in' | 'fan_out'", defaultValue: "fan_out"),
                          Argument(name: "nonlinearity", type: "str", defaultValue: "relu"),
                          Argument(name: "distribution", type: "'normal' | 'uniform'", defaultValue: "normal")] + base,
              description: "Kaiming/He init of weights (kaiming_normal_ or kaiming_uniform_); MMEngine defaults fan_out, relu, normal."),
        Entry(name: "Caffe2Xavier", className: "Caffe2XavierInit", arguments: base,
              description: "Kaiming uniform with a=1, fan_in, leaky_relu (Caffe2's Xavier), constant bias."),
        Entry(name: "Pretrained", className: "PretrainedInit",
              arguments: [Argument(name: "checkpoint", type: "str", defaultValue: nil),
                          Argument(name: "prefix", type: "str | None", defaultValue: .null),
                          Argument(name: "map_location", type: "str", defaultValue: "cpu")],
              description: "Load weights from a checkpoint (MMEngine load_checkpoint, strict=False); runs after the children's init_weights."),
    ]

    public static var names: [String] { entries.map(\.name) }

    /// `build_from_cfg(cfg, WEIGHT_INITIALIZERS)` for everything but Pretrained.
    static func build(_ cfg: JSONObject, at pointer: JSONPointer) throws(ModelError) -> any WeightInitializer {
        let type = try typeName(cfg, at: pointer)
        switch type {
        case "Constant": return try ConstantInit(cfg, at: pointer)
        case "Xavier": return try XavierInit(cfg, at: pointer)
        case "Normal": return try NormalInit(cfg, at: pointer)
        case "TruncNormal": return try TruncNormalInit(cfg, at: pointer)
        case "Uniform": return try UniformInit(cfg, at: pointer)
        case "Kaiming": return try KaimingInit(cfg, at: pointer)
        case "Caffe2Xavier": return try KaimingInit(caffe2Xavier: cfg, at: pointer)
        default: throw unknown(type, at: pointer / "type")
        }
    }

    static func typeName(_ cfg: JSONObject, at pointer: JSONPointer) throws(ModelError) -> String {
        guard let t = cfg["type"] else {
            throw .rejected(pointer, "KeyError: '`cfg` or `default_args` must contain the key \"type\", but got \(pythonRepr(.object(cfg)))\\nNone'")
        }
        guard case .string(let s) = t else {
            throw .rejected(pointer / "type", "TypeError: type must be a str or valid type, but got \(pythonType(t))")
        }
        return s
    }

    static func unknown(_ type: String, at pointer: JSONPointer) -> ModelError {
        let hint = closestName(to: type, in: names).map { " (did you mean '\($0)'?)" } ?? ""
        return .rejected(pointer, "KeyError: '\(type) is not in the mmengine::weight initializer registry. Please check whether the value of `\(type)` is correct or it was registered as expected. More details can be found at https://mmengine.readthedocs.io/en/latest/advanced_tutorials/config.html#import-the-custom-module'\(hint)")
    }
}
