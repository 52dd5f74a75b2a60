import JSON
import TorchInit

/// `nn.Conv{1,2,3}d` and `nn.ConvTranspose{1,2,3}d` (`_ConvNd.__init__` + `reset_parameters`).
enum ConvLeaf {
    static func build(dims: Int, transposed: Bool) -> @Sendable (inout LeafArguments, Module, ModelBuilder) throws(ModelError) -> Void {
        return { (a: inout LeafArguments, m: Module, b: ModelBuilder) throws(ModelError) in
            let inC = try a.size("in_channels")
            let outC = try a.size("out_channels")
            let kernel = try a.tuple("kernel_size", dims: dims)
            let groups = try a.int("groups", default: 1)
            let bias = try a.bool("bias", default: true)
            let paddingMode = try a.string("padding_mode", default: "zeros")
            let stride = try a.tuple("stride", dims: dims, default: Array(repeating: 1, count: dims))
            // A padding string is checked by _ConvNd; ConvTranspose turns it into a tuple of characters first.
            let paddingString = transposed ? nil : a.node["padding"]?.stringValue
            a.ignore("padding", "dilation")
            if transposed { a.ignore("output_padding") }
            try a.finish()
            if kernel.count != dims {
                throw .invalid(a.at("kernel_size"), "kernel_size must be an integer or a list of \(dims) integers")
            }
            if let k = kernel.first(where: { $0 <= 0 }) {
                throw .invalid(a.at("kernel_size"), "kernel_size must be positive, got \(k)")
            }
            if groups <= 0 { throw .rejected(a.at("groups"), "ValueError: groups must be a positive integer") }
            if inC % groups != 0 { throw .rejected(a.at("in_channels"), "ValueError: in_channels must be divisible by groups") }
            if outC % groups != 0 { throw .rejected(a.at("out_channels"), "ValueError: out_channels must be divisible by groups") }
            if let p = paddingString {
                if p != "same" && p != "valid" {
                    throw .rejected(a.at("padding"), "ValueError: Invalid padding string '\(p)', should be one of {'same', 'valid'}")
                }
                if p == "same" && stride.contains(where: { $0 != 1 }) {
                    throw .rejected(a.at("padding"), "ValueError: padding='same' is not supported for strided convolutions")
                }
            }
            let modes = ["zeros", "reflect", "replicate", "circular"]
            if !modes.contains(paddingMode) {
                throw .rejected(a.at("padding_mode"), "ValueError: padding_mode must be one of \(pythonList(modes)), but got padding_mode='\(paddingMode)'")
            }
            if transposed && paddingMode != "zeros" {
                throw .rejected(a.at("padding_mode"), "ValueError: Only \"zeros\" padding mode is supported for \(m.className)")
            }
            let shape = transposed ? [inC, outC / groups] + kernel : [outC, inC / groups] + kernel
            let w = try b.parameter(m, "weight", shape)
            let bt = bias ? try b.parameter(m, "bias", [outC]) : nil
            if !bias { b.noneParameter(m, "bias") }
            do {
                b.fill(w, try TorchInit.kaimingUniform(shape: shape, a: sqrt5, mode: "fan_in", nonlinearity: "leaky_relu"),
                       "kaiming_uniform_", defaultKaimingArguments, at: m)
                if let bt {
                    let fanIn = try TorchInit.fans(shape).fanIn
                    if fanIn == 0 {
                        // torch leaves the bias as torch.empty() garbage: nothing reproducible to send.
                        throw ModelError.invalid(m.pointer, "\(m.className) with a zero-size weight leaves its bias uninitialized")
                    }
                    let bound = 1 / Double(fanIn).squareRoot()
                    b.fill(bt, .uniform(from: -bound, to: bound), "uniform_", ["a": .double(-bound), "b": .double(bound)], at: m)
                }
            } catch let e as TorchError {
                throw e.at(m.pointer)
            } catch let e as ModelError {
                throw e
            } catch {
                throw .invalid(m.pointer, "\(error)")
            }
        }
    }
}

/// Python's repr of a list of strings: ['a', 'b'].
func pythonList(_ items: [String]) -> String {
    "[" + items.map { "'\($0)'" }.joined(separator: ", ") + "]"
}
