import JSON
import Model

extension WindowRef {
    /// Parses `s` (the whole storage) or `{"storage", "offset"?, "shape", "stride"}`; every element must lie inside
    /// the storage, sizes, strides and offset non-negative, all arithmetic overflow-checked.
    init(_ value: JSONValue, at: JSONPointer, storages: [Program.Storage], limits: ProgramLimits) throws(ModelError) {
        let maxIndex = Int64(storages.count) - 1
        if case .int = value {
            let s = Int(try Fields.int(value, at: at, in: 0...max(0, maxIndex)))
            if storages.isEmpty { throw .invalid(at, "storage \(s) does not exist (the program has no storages)") }
            self.init(storage: s, window: .whole(storages[s].numel))
            return
        }
        let f = try Fields(value, at: at, what: "a window", allowed: ["storage", "offset", "shape", "stride"])
        if storages.isEmpty { throw .invalid(at / "storage", "the program has no storages") }
        let s = Int(try f.requiredInt("storage", in: 0...maxIndex))
        let offset = Int(try f.int("offset", in: 0...Int64(limits.maxStorageElements)) ?? 0)
        let shape = try WindowRef.dims(f, "shape", limits: limits)
        let stride = try WindowRef.dims(f, "stride", limits: limits)
        if shape.count != stride.count {
            throw .invalid(at / "stride", "\(stride.count) strides for \(shape.count) dimensions")
        }
        let numel = storages[s].numel
        let empty = shape.contains(0)
        if empty ? offset > numel : offset >= numel {
            throw .invalid(at / "offset", "offset \(offset) is outside storage \(s), which has \(numel) elements")
        }
        // The furthest element: offset + Σ (size − 1)·stride, which must be < numel (unless the window is empty).
        var count = 1
        var last = offset
        for (d, size) in shape.enumerated() {
            let (c, o1) = count.multipliedReportingOverflow(by: size)
            if o1 || c > limits.maxStorageElements { throw .invalid(at / "shape" / d, "the window has too many elements") }
            count = c
            guard size > 0 else { continue }
            let (span, o2) = (size - 1).multipliedReportingOverflow(by: stride[d])
            let (l, o3) = last.addingReportingOverflow(span)
            if o2 || o3 || l >= numel && !empty {
                throw .invalid(at / "stride" / d, "the window reaches element \(o2 || o3 ? "beyond 2^63" : String(l)) of storage \(s), which has \(numel)")
            }
            last = l
        }
        self.init(storage: s, window: StorageWindow(offset: offset, shape: shape, stride: stride))
    }

    private static func dims(_ f: Fields, _ key: String, limits: ProgramLimits) throws(ModelError) -> [Int] {
        let a = try f.array(key, max: limits.maxDimensions)
        var out: [Int] = []
        for (i, v) in a.enumerated() {
            out.append(Int(try Fields.int(v, at: f.at / key / i, in: 0...Int64(limits.maxStorageElements))))
        }
        return out
    }

    /// In-place writes need a window without internal overlap (torch refuses "more than one element of the
    /// written-to tensor refers to a single memory location": a zero stride on a dimension of size > 1).
    func checkWritable(at: JSONPointer) throws(ModelError) {
        for d in window.shape.indices where window.shape[d] > 1 && window.stride[d] == 0 {
            throw .rejected(at / "stride" / d, "RuntimeError: unsupported operation: more than one element of the written-to tensor refers to a single memory location. Please clone() the tensor before performing the operation.")
        }
    }
}
