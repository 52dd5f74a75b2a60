import JSON
import TorchInit

/// `nn.Linear` and its subclass `NonDynamicallyQuantizableLinear` (MultiheadAttention.out_proj).
enum LinearLeaf {
    static func build(_ a: inout LeafArguments, _ m: Module, _ b: ModelBuilder) throws(ModelError) {
        let inF = try a.size("in_features")
        let outF = try a.size("out_features")
        let bias = try a.bool("bias", default: true)
        try a.finish()
        try construct(m, b, inF: inF, outF: outF, bias: bias)
    }

    /// Linear.__init__ + reset_parameters.
    static func construct(_ m: Module, _ b: ModelBuilder, inF: Int, outF: Int, bias: Bool) throws(ModelError) {
        let w = try b.parameter(m, "weight", [outF, inF])
        let bt = bias ? try b.parameter(m, "bias", [outF]) : nil
        if !bias { b.noneParameter(m, "bias") }
        do {
            b.fill(w, try TorchInit.kaimingUniform(shape: [outF, inF], a: sqrt5, mode: "fan_in", nonlinearity: "leaky_relu"),
                   "kaiming_uniform_", defaultKaimingArguments, at: m)
            if let bt {
                let fanIn = try TorchInit.fans([outF, inF]).fanIn
                let bound = fanIn > 0 ? 1 / Double(fanIn).squareRoot() : 0
                // With fan_in 0, Python's bound is the int 0 and `-bound` is +0, not -0.0: every draw lands on `to`,
                // and uniform_'s clamp rule writes `from` there, so the sign of `from` is what the bias holds.
                let from = fanIn > 0 ? -bound : 0
                b.fill(bt, .uniform(from: from, to: bound), "uniform_", ["a": .double(from), "b": .double(bound)], at: m)
            }
        } catch {
            throw error.at(m.pointer)
        }
    }
}

/// `nn.Bilinear`: weight and bias both U(±1/√in1_features).
enum BilinearLeaf {
    static func build(_ a: inout LeafArguments, _ m: Module, _ b: ModelBuilder) throws(ModelError) {
        let in1 = try a.size("in1_features")
        let in2 = try a.size("in2_features")
        let outF = try a.size("out_features")
        let bias = try a.bool("bias", default: true)
        try a.finish()
        if in1 <= 0 {
            throw .rejected(a.at("in1_features"), "ValueError: in1_features must be > 0, but got \(in1)")
        }
        let w = try b.parameter(m, "weight", [outF, in1, in2])
        let bound = 1 / Double(in1).squareRoot()
        let args: JSONObject = ["a": .double(-bound), "b": .double(bound)]
        if bias {
            let bt = try b.parameter(m, "bias", [outF])
            b.fill(w, .uniform(from: -bound, to: bound), "uniform_", args, at: m)
            b.fill(bt, .uniform(from: -bound, to: bound), "uniform_", args, at: m)
        } else {
            b.noneParameter(m, "bias")
            b.fill(w, .uniform(from: -bound, to: bound), "uniform_", args, at: m)
        }
    }
}
