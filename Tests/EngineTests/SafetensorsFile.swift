import Foundation
import JSON

/// A minimal safetensors reader for tests: header JSON (order kept), metadata, raw bytes per tensor.
struct SafetensorsFile {
    struct Tensor {
        let dtype: String
        let shape: [Int]
        let bytes: [UInt8]
    }

    let names: [String]
    let tensors: [String: Tensor]
    let metadata: [String: String]
    let headerLength: Int

    init(bytes: [UInt8]) throws {
        precondition(bytes.count >= 8)
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        headerLength = n
        let header = try JSONCodec.parse(Array(bytes[8..<(8 + n)]))
        guard case .object(let o) = header else { throw CocoaError(.fileReadCorruptFile) }
        var names: [String] = []
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (key, value) in o.entries {
            guard case .object(let t) = value else { continue }
            if key == "__metadata__" {
                for (k, v) in t.entries { metadata[k] = v.stringValue }
                continue
            }
            let offsets = t["data_offsets"]!.arrayValue!.map { Int($0.intValue!) }
            let shape = t["shape"]!.arrayValue!.map { Int($0.intValue!) }
            names.append(key)
            tensors[key] = Tensor(dtype: t["dtype"]!.stringValue!, shape: shape,
                                  bytes: Array(bytes[(8 + n + offsets[0])..<(8 + n + offsets[1])]))
        }
        self.names = names
        self.tensors = tensors
        self.metadata = metadata
    }

    init(path: String) throws {
        try self.init(bytes: [UInt8](FileManager.default.contents(atPath: path) ?? Data()))
    }
}
