import JSON
import TorchInit

/// `nn.MultiheadAttention`: out_proj (a Linear) is constructed, and draws, before in_proj.
enum MultiheadAttentionLeaf {
    static func build(_ a: inout LeafArguments, _ m: Module, _ b: ModelBuilder) throws(ModelError) {
        let e = try a.int("embed_dim")
        let heads = try a.int("num_heads")
        let bias = try a.bool("bias", default: true)
        let addBiasKV = try a.bool("add_bias_kv", default: false)
        let kdim = try a.optionalInt("kdim") ?? e
        let vdim = try a.optionalInt("vdim") ?? e
        a.ignore("dropout", "add_zero_attn", "batch_first")
        try a.finish()
        if e <= 0 || heads <= 0 {
            throw .rejected(m.pointer, "ValueError: embed_dim and num_heads must be greater than 0, got embed_dim=\(e) and num_heads=\(heads) instead")
        }
        if (e / heads) * heads != e {
            throw .rejected(a.at("num_heads"), "AssertionError: embed_dim must be divisible by num_heads")
        }
        if kdim < 0 || vdim < 0 {
            throw .rejected(m.pointer, "RuntimeError: Trying to create tensor with negative dimension")
        }
        let sameDim = kdim == e && vdim == e
        var projections: [Int] = []
        if sameDim {
            projections.append(try b.parameter(m, "in_proj_weight", [3 * e, e]))
        } else {
            projections.append(try b.parameter(m, "q_proj_weight", [e, e]))
            projections.append(try b.parameter(m, "k_proj_weight", [e, kdim]))
            projections.append(try b.parameter(m, "v_proj_weight", [e, vdim]))
        }
        let inBias = bias ? try b.parameter(m, "in_proj_bias", [3 * e]) : nil
        let outProj = b.module("NonDynamicallyQuantizableLinear", bases: ["Linear"], container: false,
                               path: m.path.isEmpty ? "out_proj" : m.path + ".out_proj", pointer: m.pointer)
        try LinearLeaf.construct(outProj, b, inF: e, outF: e, bias: bias)
        b.addChild(m, "out_proj", outProj)
        var biasKV: [Int] = []
        if addBiasKV {
            biasKV.append(try b.parameter(m, "bias_k", [1, 1, e]))
            biasKV.append(try b.parameter(m, "bias_v", [1, 1, e]))
        }
        // _reset_parameters
        do {
            for p in projections {
                b.fill(p, try TorchInit.xavierUniform(shape: b.shape(of: p), gain: 1), "xavier_uniform_", ["gain": 1], at: m)
            }
            if let inBias {
                b.fill(inBias, .constant(0), "constant_", ["val": 0.0], at: m)
                if case .tensor(let ob) = outProj.bias {
                    b.fill(ob, .constant(0), "constant_", ["val": 0.0], at: m)
                }
            }
            for p in biasKV {
                b.fill(p, try TorchInit.xavierNormal(shape: b.shape(of: p), gain: 1), "xavier_normal_", ["gain": 1], at: m)
            }
        } catch {
            throw error.at(m.pointer)
        }
    }
}
