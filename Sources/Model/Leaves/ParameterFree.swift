import JSON

/// Layers without parameters or buffers: only their argument names are checked.
enum ParameterFreeLeaf {
    /// `required`: arguments without a default; `optional`: the rest of the constructor's keywords.
    static func build(required: [String] = [], optional: [String] = [], anyArguments: Bool = false)
        -> @Sendable (inout LeafArguments, Module, ModelBuilder) throws(ModelError) -> Void
    {
        return { (a: inout LeafArguments, m: Module, b: ModelBuilder) throws(ModelError) in
            for name in required where a.node[name] == nil {
                throw .rejected(a.pointer, "TypeError: \(m.className).__init__() missing 1 required positional argument: '\(name)'")
            }
            if anyArguments { return }  // nn.Identity(*args, **kwargs)
            for name in required + optional { a.ignore(name) }
            try a.finish()
        }
    }
}
