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
            t[name] = ParameterFreeLeaf.type(bases: ["Module"], optional: inplace)
        }
        for name in ["Sigmoid", "Tanh", "Softsign", "Tanhshrink"] {
            t[name] = ParameterFreeLeaf.type(bases: ["Module"])
        }
        t["GELU"] = ParameterFreeLeaf.type(bases: ["Module"], optional: ["approximate"])
        t["LeakyReLU"] = ParameterFreeLeaf.type(bases: ["Module"], optional: ["negative_slope", "inplace"])
        t["ELU"] = ParameterFreeLeaf.type(bases: ["Module"], optional: ["alpha", "inplace"])
        t["Softplus"] = ParameterFreeLeaf.type(bases: ["Module"], optional: ["beta", "threshold"])
        t["Hardtanh"] = ParameterFreeLeaf.type(bases: ["Module"], optional: ["min_val", "max_val", "inplace"])
        for name in ["Softmax", "LogSoftmax", "Softmin", "GLU"] {
            t[name] = ParameterFreeLeaf.type(bases: ["Module"], optional: ["dim"])
        }
        t["Identity"] = ParameterFreeLeaf.type(bases: ["Module"], anyArguments: true)
        t["Flatten"] = ParameterFreeLeaf.type(bases: ["Module"], optional: ["start_dim", "end_dim"])
        t["Unflatten"] = ParameterFreeLeaf.type(bases: ["Module"], required: ["dim", "unflattened_size"])
        t["Upsample"] = ParameterFreeLeaf.type(bases: ["Module"],
            optional: ["size", "scale_factor", "mode", "align_corners", "recompute_scale_factor"])
        t["PixelShuffle"] = ParameterFreeLeaf.type(bases: ["Module"], required: ["upscale_factor"])
        for name in ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"] {
            t[name] = LeafType(bases: ["_DropoutNd"], build: DropoutLeaf.build, isParameterFree: true)
        }
        for d in 1...3 {
            t["MaxPool\(d)d"] = ParameterFreeLeaf.type(bases: ["_MaxPoolNd"],
                required: ["kernel_size"], optional: ["stride", "padding", "dilation", "return_indices", "ceil_mode"])
            t["AvgPool\(d)d"] = ParameterFreeLeaf.type(bases: ["_AvgPoolNd"],
                required: ["kernel_size"], optional: ["stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"])
            t["AdaptiveAvgPool\(d)d"] = ParameterFreeLeaf.type(bases: ["_AdaptiveAvgPoolNd"], required: ["output_size"])
            t["AdaptiveMaxPool\(d)d"] = ParameterFreeLeaf.type(bases: ["_AdaptiveMaxPoolNd"],
                required: ["output_size"], optional: ["return_indices"])
        }
        return t
    }()

    /// Names a spec may use, for "did you mean" hints and the registry listing.
    static var names: [String] { types.keys.filter { $0 != "NonDynamicallyQuantizableLinear" }.sorted() }
}
