import JSON
import TorchInit

/// `nn.Embedding` / `nn.EmbeddingBag`: N(0,1) over every row, then the padding row zeroed.
enum EmbeddingLeaf {
    static func build(_ a: inout LeafArguments, _ m: Module, _ b: ModelBuilder) throws(ModelError) {
        let n = try a.size("num_embeddings")
        let d = try a.size("embedding_dim")
        var padding = try a.optionalInt("padding_idx")
        a.ignore("max_norm", "norm_type", "scale_grad_by_freq", "sparse", "mode", "include_last_offset")
        if a.node["_weight"] != nil && a.node["_weight"] != .null {
            throw .invalid(a.at("_weight"), "\(m.className) `_weight` is not supported: give the values through Pretrained")
        }
        a.ignore("_weight", "_freeze")
        try a.finish()
        if let p = padding {
            if p >= 0, p >= n || (p == 0 && n == 0) {
                throw .rejected(a.at("padding_idx"), "AssertionError: Padding_idx must be within num_embeddings")
            }
            if p < 0 {
                if p < -n { throw .rejected(a.at("padding_idx"), "AssertionError: Padding_idx must be within num_embeddings") }
                padding = n + p
            }
        }
        let w = try b.parameter(m, "weight", [n, d])
        b.fill(w, .normal(mean: 0, std: 1), "normal_", ["mean": 0, "std": 1], at: m)
        if let p = padding { b.zeroRow(w, row: p, at: m) }
    }
}
