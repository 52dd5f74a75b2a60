import JSON

/// Constructor keyword arguments of the leaf types, with PyTorch's defaults (nil: required), for the registry listing.
public enum LeafSignatures {
    public struct Argument: Sendable {
        public let name: String
        public let required: Bool
        /// PyTorch's default, when the registry lists it.
        public let defaultValue: JSONValue?
    }

    private static func args(_ items: [(String, JSONValue?)]) -> [Argument] {
        items.map { Argument(name: $0.0, required: $0.1 == nil, defaultValue: $0.1) }
    }

    static let conv: [(String, JSONValue?)] = [("in_channels", nil), ("out_channels", nil), ("kernel_size", nil), ("stride", 1),
                                               ("padding", 0), ("dilation", 1), ("groups", 1), ("bias", true), ("padding_mode", "zeros")]
    static let norm: [(String, JSONValue?)] = [("num_features", nil), ("eps", 1e-5), ("momentum", 0.1), ("affine", true), ("track_running_stats", true), ("bias", true)]
    static let instanceNorm: [(String, JSONValue?)] = [("num_features", nil), ("eps", 1e-5), ("momentum", 0.1), ("affine", false), ("track_running_stats", false), ("bias", true)]
    static let embedding: [(String, JSONValue?)] = [("num_embeddings", nil), ("embedding_dim", nil), ("padding_idx", .null),
                                                    ("max_norm", .null), ("norm_type", 2.0), ("scale_grad_by_freq", false), ("sparse", false)]
    static let rnn: [(String, JSONValue?)] = [("input_size", nil), ("hidden_size", nil), ("num_layers", 1), ("bias", true),
                                              ("batch_first", false), ("dropout", 0.0), ("bidirectional", false)]

    /// Arguments of every leaf type the catalog knows.
    public static func arguments(of type: String) -> [Argument] {
        switch type {
        case "Linear": return args([("in_features", nil), ("out_features", nil), ("bias", true)])
        case "Bilinear": return args([("in1_features", nil), ("in2_features", nil), ("out_features", nil), ("bias", true)])
        case let t where t.hasPrefix("ConvTranspose"): return args(conv + [("output_padding", 0)])
        case let t where t.hasPrefix("Conv"): return args(conv)
        case "SyncBatchNorm": return args(norm)
        case let t where t.hasPrefix("BatchNorm"): return args(norm)
        case let t where t.hasPrefix("InstanceNorm"): return args(instanceNorm)
        case "GroupNorm": return args([("num_groups", nil), ("num_channels", nil), ("eps", 1e-5), ("affine", true), ("bias", true)])
        case "LayerNorm": return args([("normalized_shape", nil), ("eps", 1e-5), ("elementwise_affine", true), ("bias", true)])
        case "RMSNorm": return args([("normalized_shape", nil), ("eps", .null), ("elementwise_affine", true)])
        case "Embedding": return args(embedding)
        case "EmbeddingBag": return args(embedding + [("mode", "mean"), ("include_last_offset", false)])
        case "MultiheadAttention":
            return args([("embed_dim", nil), ("num_heads", nil), ("dropout", 0.0), ("bias", true), ("add_bias_kv", false),
                         ("add_zero_attn", false), ("kdim", .null), ("vdim", .null), ("batch_first", false)])
        case "RNN": return args(rnn + [("nonlinearity", "tanh")])
        case "LSTM": return args(rnn + [("proj_size", 0)])
        case "GRU": return args(rnn)
        case "PReLU": return args([("num_parameters", 1), ("init", 0.25)])
        case let t where t.hasPrefix("Dropout") || t == "AlphaDropout": return args([("p", 0.5), ("inplace", false)])
        default:
            return (LeafCatalog.types[type]?.freeArguments ?? []).map { Argument(name: $0.name, required: $0.required, defaultValue: nil) }
        }
    }


    /// Whether the type holds parameters or buffers.
    public static func hasState(_ type: String) -> Bool { !(LeafCatalog.types[type]?.isParameterFree ?? true) }

    public static func bases(of type: String) -> [String] { LeafCatalog.types[type]?.bases ?? [] }
}
