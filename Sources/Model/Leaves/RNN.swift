import JSON
import TorchInit

/// `nn.RNN` / `nn.LSTM` / `nn.GRU` (RNNBase): every parameter U(±1/√hidden_size), in registration order.
enum RNNLeaf {
    static func build(gates: Int, mode: String) -> @Sendable (inout LeafArguments, Module, ModelBuilder) throws(ModelError) -> Void {
        return { (a: inout LeafArguments, m: Module, b: ModelBuilder) throws(ModelError) in
            let input = try a.size("input_size")
            let hidden = try a.int("hidden_size")
            let layers = try a.int("num_layers", default: 1)
            // RNNBase insists on real bools for bias and batch_first (Linear and friends only test truthiness).
            for name in ["bias", "batch_first"] {
                if let v = a.node[name], v != .null, v.boolValue == nil {
                    throw .rejected(a.at(name), "TypeError: \(name) should be of type bool, got: \(v.typeName)")
                }
            }
            let bias = try a.bool("bias", default: true)
            let bidirectional = try a.bool("bidirectional", default: false)
            let proj = mode == "LSTM" ? try a.int("proj_size", default: 0) : 0
            if mode == "RNN_TANH" {
                let nl = try a.string("nonlinearity", default: "tanh")
                if nl != "tanh" && nl != "relu" {
                    throw .rejected(a.at("nonlinearity"), "ValueError: Unknown nonlinearity '\(nl)'. Select from 'tanh' or 'relu'.")
                }
            }
            let dropout = try a.double("dropout", default: 0)
            a.ignore("batch_first")
            try a.finish()
            if dropout < 0 || dropout > 1 {
                throw .rejected(a.at("dropout"), "ValueError: dropout should be a number in range [0, 1] representing the probability of an element being zeroed")
            }
            if input <= 0 { throw .rejected(a.at("input_size"), "ValueError: input_size must be greater than zero") }
            if hidden <= 0 { throw .rejected(a.at("hidden_size"), "ValueError: hidden_size must be greater than zero") }
            if layers <= 0 { throw .rejected(a.at("num_layers"), "ValueError: num_layers must be greater than zero") }
            if proj < 0 {
                throw .rejected(a.at("proj_size"), "ValueError: proj_size should be a positive integer or zero to disable projections")
            }
            if proj >= hidden { throw .rejected(a.at("proj_size"), "ValueError: proj_size has to be smaller than hidden_size") }
            let gate = gates * hidden
            let realHidden = proj > 0 ? proj : hidden
            let directions = bidirectional ? 2 : 1
            var all: [Int] = []
            for layer in 0..<layers {
                for d in 0..<directions {
                    let inSize = layer == 0 ? input : realHidden * directions
                    let suffix = "_l\(layer)" + (d == 1 ? "_reverse" : "")
                    all.append(try b.parameter(m, "weight_ih" + suffix, [gate, inSize]))
                    all.append(try b.parameter(m, "weight_hh" + suffix, [gate, realHidden]))
                    if bias {
                        all.append(try b.parameter(m, "bias_ih" + suffix, [gate]))
                        all.append(try b.parameter(m, "bias_hh" + suffix, [gate]))
                    }
                    if proj > 0 { all.append(try b.parameter(m, "weight_hr" + suffix, [proj, hidden])) }
                }
            }
            m.bias = .bool(bias)  // RNNBase keeps `self.bias = bias`: MMEngine's bias fill then fails.
            let stdv = 1 / Double(hidden).squareRoot()
            for p in all {
                b.fill(p, .uniform(from: -stdv, to: stdv), "uniform_", ["a": .double(-stdv), "b": .double(stdv)], at: m)
            }
        }
    }
}
