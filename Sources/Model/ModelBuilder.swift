import JSON
import Tensors
import TorchInit

/// Creates modules and tensors and records construction-time writes on the timeline,
/// in the order PyTorch's constructors execute.
public final class ModelBuilder {
    public let timeline: Timeline

    public init(timeline: Timeline) { self.timeline = timeline }

    func module(_ className: String, bases: [String], container: Bool, path: String, pointer: JSONPointer) -> Module {
        Module(className: className, baseNames: bases, isContainer: container, path: path, pointer: pointer)
    }

    private func fullName(_ m: Module, _ name: String) -> String {
        m.path.isEmpty ? name : m.path + "." + name
    }

    func parameter(_ m: Module, _ name: String, _ shape: [Int], dtype: DType = .float32) throws(ModelError) -> Int {
        try checkSize(shape, of: name, at: m)
        let t = timeline.addTensor(
            TensorRecord(name: fullName(m, name), kind: .parameter, shape: shape, dtype: dtype, persistent: true),
            initial: timeline.freshUnique())
        m.parameters.append((name, t))
        if name == "weight" { m.weight = .tensor(t) }
        if name == "bias" { m.bias = .tensor(t) }
        return t
    }

    /// `register_parameter(name, None)`: `hasattr` is True, the value is None.
    func noneParameter(_ m: Module, _ name: String) {
        if name == "weight" { m.weight = .none }
        if name == "bias" { m.bias = .none }
    }

    func buffer(_ m: Module, _ name: String, _ shape: [Int], dtype: DType = .float32, fill: Double, persistent: Bool = true) throws(ModelError) -> Int {
        try checkSize(shape, of: name, at: m)
        let t = timeline.addTensor(
            TensorRecord(name: fullName(m, name), kind: .buffer, shape: shape, dtype: dtype, persistent: persistent),
            initial: .constant(fill))
        m.buffers.append((name, t))
        if name == "weight" { m.weight = .tensor(t) }
        if name == "bias" { m.bias = .tensor(t) }
        let origin = timeline.addOrigin(Origin(initializer: "full", arguments: ["fill_value": .double(fill)], phase: "construction", pointer: m.pointer))
        timeline.record(.fill(.constant(fill)), on: t, origin: origin)
        return t
    }

    func addChild(_ m: Module, _ name: String, _ child: Module) {
        m.children.append((name, child))
        if name == "weight" { m.weight = .module }
        if name == "bias" { m.bias = .module }
    }

    /// Records a construction-time `torch.nn.init` call (nil: a no-op such as kaiming on an empty tensor).
    func fill(_ tensor: Int, _ fill: TensorFill?, _ initializer: String, _ arguments: JSONObject = [:], at m: Module) {
        guard let fill else { return }
        let origin = timeline.addOrigin(Origin(initializer: initializer, arguments: arguments, phase: "construction", pointer: m.pointer))
        timeline.record(.fill(fill), on: tensor, origin: origin)
    }

    func zeroRow(_ tensor: Int, row: Int, at m: Module) {
        let origin = timeline.addOrigin(Origin(initializer: "fill_", arguments: ["row": .int(Int64(row)), "val": 0], phase: "construction", pointer: m.pointer))
        timeline.record(.zeroRow(row), on: tensor, origin: origin)
    }

    func shape(of tensor: Int) -> [Int] { timeline.tensors[tensor].shape }

    /// Element counts stay far from Int overflow (fan products, byte sizes): at most 2^48 elements per tensor.
    private func checkSize(_ shape: [Int], of name: String, at m: Module) throws(ModelError) {
        var count = 1
        for d in shape {
            if d == 0 { return }
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, p <= 1 << 48 else {
                throw .invalid(m.pointer, "\(m.className).\(name) of shape \(shape) is too large to initialize")
            }
            count = p
        }
    }
}

extension TorchError {
    func at(_ pointer: JSONPointer) -> ModelError { .rejected(pointer, description) }
}
