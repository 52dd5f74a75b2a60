import JSON

/// A `torch.nn` class the spec may name: its direct bases and its constructor.
struct LeafType: Sendable {
    let bases: [String]
    /// Reads the arguments, registers tensors and records construction-time init, in constructor order.
    let build: @Sendable (inout LeafArguments, Module, ModelBuilder) throws(ModelError) -> Void
    /// Keyword names of a parameter-free layer (their defaults don't matter to the engine), for the registry.
    var freeArguments: [(name: String, required: Bool)] = []
    /// No parameters or buffers (activations, pooling, dropout, ...).
    var isParameterFree = false
}

let sqrt5 = 5.0.squareRoot()

/// The arguments PyTorch's own reset_parameters passes to kaiming_uniform_.
let defaultKaimingArguments: JSONObject = ["a": .double(sqrt5), "mode": "fan_in", "nonlinearity": "leaky_relu"]
