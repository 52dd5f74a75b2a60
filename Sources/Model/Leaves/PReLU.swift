import JSON
import TorchInit

/// `nn.PReLU(num_parameters=1, init=0.25)`.
enum PReLULeaf {
    static func build(_ a: inout LeafArguments, _ m: Module, _ b: ModelBuilder) throws(ModelError) {
        let n = try a.size("num_parameters", default: 1)
        let value = try a.double("init", default: 0.25)
        try a.finish()
        do { try checkFillValue(value, dtype: .float32) } catch { throw error.at(a.at("init")) }
        let w = try b.parameter(m, "weight", [n])
        b.fill(w, .constant(value), "constant_", ["val": .double(value)], at: m)
    }
}
