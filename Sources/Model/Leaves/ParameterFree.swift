import JSON

/// Layers without parameters or buffers: only their argument names are checked.
enum ParameterFreeLeaf {
    /// The catalog entry: `build` plus the names the registry lists.
    static func type(bases: [String], required: [String] = [], optional: [String] = [], anyArguments: Bool = false) -> LeafType {
        LeafType(bases: bases, build: build(required: required, optional: optional, anyArguments: anyArguments),
                 freeArguments: required.map { ($0, true) } + optional.map { ($0, false) }, isParameterFree: true)
    }

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

/// `_DropoutNd(p=0.5, inplace=False)`: no parameters, but the constructor checks p.
enum DropoutLeaf {
    static func build(_ a: inout LeafArguments, _ m: Module, _ b: ModelBuilder) throws(ModelError) {
        let p = try a.double("p", default: 0.5)
        a.ignore("inplace")
        try a.finish()
        if p < 0 || p > 1 {
            throw .rejected(a.at("p"), "ValueError: dropout probability has to be between 0 and 1, but got \(pythonStr(a.node["p"] ?? .double(p)))")
        }
    }
}
