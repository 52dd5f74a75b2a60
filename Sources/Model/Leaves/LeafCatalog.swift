/// Every `torch.nn` class a spec may name, with its direct bases (what MMEngine's `layer` matches).
enum LeafCatalog {
    static let types: [String: LeafType] = {
        var t: [String: LeafType] = [:]
        t["Linear"] = LeafType(bases: ["Module"], build: LinearLeaf.build)
        t["NonDynamicallyQuantizableLinear"] = LeafType(bases: ["Linear"], build: LinearLeaf.build)
        t["Bilinear"] = LeafType(bases: ["Module"], build: BilinearLeaf.build)
        for d in 1...3 {
            t["Conv\(d)d"] = LeafType(bases: ["_ConvNd"], build: ConvLeaf.build(dims: d, transposed: false))
            t["ConvTranspose\(d)d"] = LeafType(bases: ["_ConvTransposeNd"], build: ConvLeaf.build(dims: d, transposed: true))
            t["BatchNorm\(d)d"] = LeafType(bases: ["_BatchNorm"], build: NormBaseLeaf.build(affineDefault: true, trackDefault: true))
            t["InstanceNorm\(d)d"] = LeafType(bases: ["_InstanceNorm"], build: NormBaseLeaf.build(affineDefault: false, trackDefault: false))
        }
        t["SyncBatchNorm"] = LeafType(bases: ["_BatchNorm"], build: NormBaseLeaf.build(affineDefault: true, trackDefault: true))
        t["GroupNorm"] = LeafType(bases: ["Module"], build: GroupNormLeaf.build)
        t["LayerNorm"] = LeafType(bases: ["Module"], build: LayerNormLeaf.build)
        t["RMSNorm"] = LeafType(bases: ["Module"], build: RMSNormLeaf.build)
        t["Embedding"] = LeafType(bases: ["Module"], build: EmbeddingLeaf.build)
        t["EmbeddingBag"] = LeafType(bases: ["Module"], build: EmbeddingLeaf.build)
        t["MultiheadAttention"] = LeafType(bases: ["Module"], build: MultiheadAttentionLeaf.build)
        t["RNN"] = LeafType(bases: ["RNNBase"], build: RNNLeaf.build(gates: 1, mode: "RNN_TANH"))
        t["LSTM"] = LeafType(bases: ["RNNBase"], build: RNNLeaf.build(gates: 4, mode: "LSTM"))
        t["GRU"] = LeafType(bases: ["RNNBase"], build: RNNLeaf.build(gates: 3, mode: "GRU"))
        t["PReLU"] = LeafType(bases: ["Module"], build: PReLULeaf.build)

        let inplace = ["inplace"]
        for name in ["ReLU", "SiLU", "Hardswish", "Mish", "ReLU6", "SELU", "Hardsigmoid"] {
            t[name] = LeafType(bases: ["Module"], build: ParameterFreeLeaf.build(optional: inplace))
        }
        for name in ["Sigmoid", "Tanh", "Softsign", "Tanhshrink"] {
            t[name] = LeafType(bases: ["Module"], build: ParameterFreeLeaf.build())
        }
        t["GELU"] = LeafType(bases: ["Module"], build: ParameterFreeLeaf.build(optional: ["approximate"]))
        t["LeakyReLU"] = LeafType(bases: ["Module"], build: ParameterFreeLeaf.build(optional: ["negative_slope", "inplace"]))
        t["ELU"] = LeafType(bases: ["Module"], build: ParameterFreeLeaf.build(optional: ["alpha", "inplace"]))
        t["Softplus"] = LeafType(bases: ["Module"], build: ParameterFreeLeaf.build(optional: ["beta", "threshold"]))
        t["Hardtanh"] = LeafType(bases: ["Module"], build: ParameterFreeLeaf.build(optional: ["min_val", "max_val", "inplace"]))
        for name in ["Softmax", "LogSoftmax", "Softmin", "GLU"] {
            t[name] = LeafType(bases: ["Module"], build: ParameterFreeLeaf.build(optional: ["dim"]))
        }
        t["Identity"] = LeafType(bases: ["Module"], build: ParameterFreeLeaf.build(anyArguments: true))
        t["Flatten"] = LeafType(bases: ["Module"], build: ParameterFreeLeaf.build(optional: ["start_dim", "end_dim"]))
        t["Unflatten"] = LeafType(bases: ["Module"], build: ParameterFreeLeaf.build(required: ["dim", "unflattened_size"]))
        t["Upsample"] = LeafType(bases: ["Module"], build: ParameterFreeLeaf.build(
            optional: ["size", "scale_factor", "mode", "align_corners", "recompute_scale_factor"]))
        t["PixelShuffle"] = LeafType(bases: ["Module"], build: ParameterFreeLeaf.build(required: ["upscale_factor"]))
        for name in ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"] {
            t[name] = LeafType(bases: ["_DropoutNd"], build: DropoutLeaf.build)
        }
        for d in 1...3 {
            t["MaxPool\(d)d"] = LeafType(bases: ["_MaxPoolNd"], build: ParameterFreeLeaf.build(
                required: ["kernel_size"], optional: ["stride", "padding", "dilation", "return_indices", "ceil_mode"]))
            t["AvgPool\(d)d"] = LeafType(bases: ["_AvgPoolNd"], build: ParameterFreeLeaf.build(
                required: ["kernel_size"], optional: ["stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"]))
            t["AdaptiveAvgPool\(d)d"] = LeafType(bases: ["_AdaptiveAvgPoolNd"], build: ParameterFreeLeaf.build(required: ["output_size"]))
            t["AdaptiveMaxPool\(d)d"] = LeafType(bases: ["_AdaptiveMaxPoolNd"], build: ParameterFreeLeaf.build(
                required: ["output_size"], optional: ["return_indices"]))
        }
        return t
    }()

    /// Names a spec may use, for "did you mean" hints and the registry listing.
    static var names: [String] { types.keys.filter { $0 != "NonDynamicallyQuantizableLinear" }.sorted() }
}
