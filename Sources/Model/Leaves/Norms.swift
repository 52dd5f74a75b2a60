import JSON
import Tensors
import TorchInit

/// `_NormBase` (BatchNorm*, SyncBatchNorm, InstanceNorm*): weight/bias, running stats, num_batches_tracked.
enum NormBaseLeaf {
    static func build(affineDefault: Bool, trackDefault: Bool) -> @Sendable (inout LeafArguments, Module, ModelBuilder) throws(ModelError) -> Void {
        return { (a: inout LeafArguments, m: Module, b: ModelBuilder) throws(ModelError) in
            let c = try a.size("num_features")
            let affine = try a.bool("affine", default: affineDefault)
            let track = try a.bool("track_running_stats", default: trackDefault)
            let bias = try a.bool("bias", default: true)
            a.ignore("eps", "momentum", "process_group")
            try a.finish()
            var weight: Int?
            var biasT: Int?
            if affine {
                weight = try b.parameter(m, "weight", [c])
                if bias { biasT = try b.parameter(m, "bias", [c]) } else { b.noneParameter(m, "bias") }
            } else {
                b.noneParameter(m, "weight")
                b.noneParameter(m, "bias")
            }
            if track {
                _ = try b.buffer(m, "running_mean", [c], fill: 0)
                _ = try b.buffer(m, "running_var", [c], fill: 1)
                _ = try b.buffer(m, "num_batches_tracked", [], dtype: .int64, fill: 0)
            }
            if let weight { b.fill(weight, .constant(1), "ones_", at: m) }
            if let biasT { b.fill(biasT, .constant(0), "zeros_", at: m) }
        }
    }
}

/// `nn.GroupNorm(num_groups, num_channels, eps, affine, *, bias=True)`.
enum GroupNormLeaf {
    static func build(_ a: inout LeafArguments, _ m: Module, _ b: ModelBuilder) throws(ModelError) {
        let groups = try a.int("num_groups")
        let c = try a.size("num_channels")
        let affine = try a.bool("affine", default: true)
        let bias = try a.bool("bias", default: true)
        a.ignore("eps")
        try a.finish()
        if groups == 0 || c % groups != 0 {
            throw .rejected(a.at("num_channels"), "ValueError: num_channels must be divisible by num_groups")
        }
        try affineParameters(m, b, shape: [c], affine: affine, bias: bias)
    }
}

/// `nn.LayerNorm(normalized_shape, eps, elementwise_affine, bias)`.
enum LayerNormLeaf {
    static func build(_ a: inout LeafArguments, _ m: Module, _ b: ModelBuilder) throws(ModelError) {
        let shape = try a.shape("normalized_shape")
        let affine = try a.bool("elementwise_affine", default: true)
        let bias = try a.bool("bias", default: true)
        a.ignore("eps")
        try a.finish()
        try affineParameters(m, b, shape: shape, affine: affine, bias: bias)
    }
}

/// `nn.RMSNorm(normalized_shape, eps, elementwise_affine)`: weight only.
enum RMSNormLeaf {
    static func build(_ a: inout LeafArguments, _ m: Module, _ b: ModelBuilder) throws(ModelError) {
        let shape = try a.shape("normalized_shape")
        let affine = try a.bool("elementwise_affine", default: true)
        a.ignore("eps")
        try a.finish()
        if affine {
            let w = try b.parameter(m, "weight", shape)
            b.fill(w, .constant(1), "ones_", at: m)
        } else {
            b.noneParameter(m, "weight")
        }
    }
}

/// Weight of ones and bias of zeros, or None for both.
private func affineParameters(_ m: Module, _ b: ModelBuilder, shape: [Int], affine: Bool, bias: Bool) throws(ModelError) {
    guard affine else {
        b.noneParameter(m, "weight")
        b.noneParameter(m, "bias")
        return
    }
    let w = try b.parameter(m, "weight", shape)
    let bt = bias ? try b.parameter(m, "bias", shape) : nil
    if !bias { b.noneParameter(m, "bias") }
    b.fill(w, .constant(1), "ones_", at: m)
    if let bt { b.fill(bt, .constant(0), "zeros_", at: m) }
}
