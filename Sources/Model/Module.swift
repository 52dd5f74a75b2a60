import JSON

/// What `module.weight` / `module.bias` is in Python, which decides what MMEngine's init functions do.
public enum Attribute: Sendable, Equatable {
    /// `hasattr` is False.
    case absent
    /// Registered as None (e.g. `Linear(bias=False)`).
    case none
    /// A tensor of the model (global tensor index).
    case tensor(Int)
    /// A plain bool (RNN/LSTM/GRU keep `self.bias = bias`).
    case bool(Bool)
    /// A submodule registered under that name.
    case module
}

/// One node of the module tree: a `torch.nn` leaf or an MMEngine `BaseModule` container.
public final class Module: @unchecked Sendable {
    /// Python class name (`type` in the spec).
    public let className: String
    /// Names of the class's direct bases; `layer` matches these and the class name.
    public let baseNames: [String]
    public let isContainer: Bool
    /// Dotted path from the root ("" for the root).
    public let path: String
    /// Where the node is in the request.
    public let pointer: JSONPointer
    /// Own tensors (global indices), parameters then buffers, in registration order.
    public package(set) var parameters: [(name: String, tensor: Int)] = []
    public package(set) var buffers: [(name: String, tensor: Int)] = []
    public package(set) var children: [(name: String, module: Module)] = []
    public package(set) var weight: Attribute = .absent
    public package(set) var bias: Attribute = .absent
    /// Containers: the `init_cfg` as written, and its location.
    public package(set) var initCfg: JSONValue?
    /// Containers: user-defined `init_weights` steps.
    public package(set) var initWeightsSteps: [JSONValue] = []

    package init(className: String, baseNames: [String], isContainer: Bool, path: String, pointer: JSONPointer) {
        self.className = className
        self.baseNames = baseNames
        self.isContainer = isContainer
        self.path = path
        self.pointer = pointer
    }

    /// `hasattr(module, 'init_weights')`: every container has one, torch.nn leaves don't.
    public var hasInitWeights: Bool { isContainer }

    /// `module.apply(fn)` order: each child's subtree first, then the module itself.
    public func postOrder() -> [Module] {
        var out: [Module] = []
        func visit(_ m: Module) {
            for (_, c) in m.children { visit(c) }
            out.append(m)
        }
        visit(self)
        return out
    }

    /// `module.modules()` order: the module, then each child's subtree.
    public func preOrder() -> [Module] {
        var out: [Module] = [self]
        for (_, c) in children { out.append(contentsOf: c.preOrder()) }
        return out
    }

    /// `named_parameters()` tensors of the subtree, in state_dict order.
    public func parameterTensors() -> [Int] {
        parameters.map(\.tensor) + children.flatMap { $0.module.parameterTensors() }
    }

    public func child(named name: String) -> Module? {
        children.first(where: { $0.name == name })?.module
    }

    /// The object `getattr(self, name)` returns, as far as MMEngine cares.
    public func attribute(_ name: String) -> Attribute {
        if name == "weight" { return weight }
        if name == "bias" { return bias }
        if let p = parameters.first(where: { $0.name == name }) { return .tensor(p.tensor) }
        if let b = buffers.first(where: { $0.name == name }) { return .tensor(b.tensor) }
        if child(named: name) != nil { return .module }
        return .absent
    }
}
