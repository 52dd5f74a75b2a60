import JSON
import Model
import Tensors

extension Program {
    public static let keys = ["version", "model", "storages", "state_dict", "modules", "sites", "ops"]
    static let dtypes: [DType] = [.float32, .float64, .float16, .bfloat16, .int64, .int32, .bool]

    /// Parses and validates a program (`at`: its place in the request, `/program`).
    public init(_ value: JSONValue, at: JSONPointer, limits: ProgramLimits = ProgramLimits()) throws(ModelError) {
        let f = try Fields(value, at: at, what: "a program", allowed: Program.keys)
        version = Int(try f.requiredInt("version"))
        if version != 1 { throw .invalid(at / "version", "unsupported program version \(version); this service reads version 1") }
        model = try f.requiredString("model")

        storages = []
        for (i, v) in try f.array("storages", max: limits.maxStorages).enumerated() {
            let s = try Fields(v, at: at / "storages" / i, what: "a storage", allowed: ["numel", "dtype"])
            let numel = Int(try s.requiredInt("numel", in: 0...Int64(limits.maxStorageElements)))
            let name = try s.requiredString("dtype")
            guard let dtype = DType(rawValue: name), Program.dtypes.contains(dtype) else {
                throw .invalid(s.at / "dtype", "unknown dtype '\(name)'; expected \(Program.dtypes.map(\.rawValue).joined(separator: ", "))")
            }
            storages.append(Storage(numel: numel, dtype: dtype))
        }

        stateDict = []
        var names = Set<String>()
        for (i, v) in try f.array("state_dict", max: limits.maxEntries).enumerated() {
            let e = try Fields(v, at: at / "state_dict" / i, what: "a state_dict entry", allowed: ["name", "storage", "shape", "kind"])
            let name = try e.requiredString("name")
            if !names.insert(name).inserted { throw .invalid(e.at / "name", "duplicate state_dict name '\(name)'") }
            if storages.isEmpty { throw .invalid(e.at / "storage", "the program has no storages") }
            let storage = Int(try e.requiredInt("storage", in: 0...Int64(storages.count - 1)))
            let dims = try e.array("shape", max: limits.maxDimensions)
            var shape: [Int] = []
            var count = 1
            for (d, x) in dims.enumerated() {
                let size = Int(try Fields.int(x, at: e.at / "shape" / d, in: 0...Int64(limits.maxStorageElements)))
                let (c, o) = count.multipliedReportingOverflow(by: size)
                if o || c > limits.maxStorageElements { throw .invalid(e.at / "shape" / d, "too many elements") }
                count = c
                shape.append(size)
            }
            if count != storages[storage].numel {
                throw .invalid(e.at / "shape", "shape \(shape) has \(count) elements, but storage \(storage) has \(storages[storage].numel)")
            }
            let kindName = try e.string("kind") ?? "parameter"
            guard let kind = TensorRecord.Kind(rawValue: kindName) else {
                throw .invalid(e.at / "kind", "kind must be parameter or buffer, got '\(kindName)'")
            }
            stateDict.append(Entry(name: name, storage: storage, shape: shape, kind: kind))
        }

        sites = []
        for (i, v) in try (f["sites"] == nil ? [] : f.array("sites", max: limits.maxOps)).enumerated() {
            guard case .string(let s) = v else { throw .invalid(at / "sites" / i, "a site must be a string, got \(v.typeName)") }
            sites.append(s)
        }

        modules = []
        if f["modules"] != nil {
            for (i, v) in try f.array("modules", max: limits.maxModules).enumerated() {
                modules.append(try ModuleInfo(v, at: at / "modules" / i, entries: stateDict.count, limits: limits))
            }
        }

        ops = []
        var parser = OpParser(storages: storages, sites: sites.count, limits: limits)
        for (i, v) in try f.array("ops", max: limits.maxOps).enumerated() {
            ops.append(try parser.parse(v, at: at / "ops" / i))
        }
    }
}

extension Program.ModuleInfo {
    init(_ value: JSONValue, at: JSONPointer, entries: Int, limits: ProgramLimits) throws(ModelError) {
        let f = try Fields(value, at: at, what: "a module", allowed: ["path", "class", "bases", "init_weights", "parameters", "buffers"])
        path = try f.requiredString("path")
        className = try f.requiredString("class")
        bases = []
        if f["bases"] != nil {
            for (i, v) in try f.array("bases", max: 64).enumerated() {
                guard case .string(let s) = v else { throw .invalid(at / "bases" / i, "a base name must be a string") }
                bases.append(s)
            }
        }
        switch f["init_weights"] {
        case nil: initWeights = false
        case .bool(let b)?: initWeights = b
        case let v?: throw .invalid(at / "init_weights", "must be a boolean, got \(v.typeName)")
        }
        func tensors(_ key: String) throws(ModelError) -> [(name: String, entry: Int?)] {
            guard let v = f[key] else { return [] }
            guard case .object(let o) = v else { throw .invalid(at / key, "must be an object (name → state_dict index or null)") }
            var out: [(name: String, entry: Int?)] = []
            for (name, x) in o.entries {
                if x == .null { out.append((name, nil)); continue }
                if entries == 0 { throw .invalid(at / key / name, "the program has no state_dict entries") }
                out.append((name, Int(try Fields.int(x, at: at / key / name, in: 0...Int64(entries - 1)))))
            }
            return out
        }
        parameters = try tensors("parameters")
        buffers = try tensors("buffers")
    }
}
