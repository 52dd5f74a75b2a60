import Foundation
import JSON
import Service

/// A backend for the async-job tests whose checkpoints have real tensors, so hashes and statistics
/// can be checked: `{"tensors": [{"name", "dtype", "values"?: [...], "count"?: n}], "header"?: n,
/// "chunk"?: bytes per read, "delay"?: seconds per read, "failAt"?: offset, "reject"?: "/pointer"}`.
/// The file is `header` bytes of 0xAB, then each tensor's little-endian bytes in order. Without
/// `values`, element i of a tensor is `(i % 101) / 100 - 0.5` (as the dtype stores it).
final class TensorFakeBackend: InitializationBackend, @unchecked Sendable {
    let version = "test-1.0"
    private let lock = NSLock()
    private var made = 0
    var streamsMade: Int { lock.withLock { made } }

    struct Layout: Sendable {
        var bytes: [UInt8]
        var report: JSONValue
    }

    static func layout(_ body: JSONValue) throws(BackendError) -> (Layout, JSONObject) {
        guard let o = body.objectValue else { throw BackendError(detail: "request body must be a JSON object", pointer: "") }
        if let pointer = o["reject"]?.stringValue {
            throw BackendError(status: 422, title: "Invalid model spec", detail: "rejected on request", pointer: pointer)
        }
        var bytes = [UInt8](repeating: 0xAB, count: Int(o["header"]?.intValue ?? 16))
        var tensors: [JSONValue] = []
        for (i, t) in (o["tensors"]?.arrayValue ?? []).enumerated() {
            guard let t = t.objectValue, let name = t["name"]?.stringValue, let dtype = t["dtype"]?.stringValue else {
                throw BackendError(detail: "a tensor needs a name and a dtype", pointer: "/tensors/\(i)")
            }
            let values = t["values"]?.arrayValue?.compactMap(\.numberValue)
                ?? (0..<Int(t["count"]?.intValue ?? 4)).map { Double($0 % 101) / 100 - 0.5 }
            let start = bytes.count
            for v in values {
                switch dtype {
                case "float32": withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { bytes += $0 }
                case "float64": withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 }
                case "float16": withUnsafeBytes(of: Float16(Float(v)).bitPattern.littleEndian) { bytes += $0 }
                case "bfloat16": withUnsafeBytes(of: UInt16(Float(v).bitPattern >> 16).littleEndian) { bytes += $0 }
                case "int64": withUnsafeBytes(of: Int64(v).littleEndian) { bytes += $0 }
                case "int32": withUnsafeBytes(of: Int32(v).littleEndian) { bytes += $0 }
                case "bool": bytes.append(v != 0 ? 1 : 0)
                default: throw BackendError(detail: "unknown dtype \(dtype)", pointer: "/tensors/\(i)/dtype")
                }
            }
            tensors.append(["name": .string(name), "kind": .string(name.contains("running") ? "buffer" : "parameter"),
                            "shape": [.int(Int64(values.count))], "dtype": .string(dtype),
                            "byte_range": [.int(Int64(start)), .int(Int64(bytes.count))],
                            "initialized_by": [["initializer": "FakeInit"]]])
        }
        let report: JSONValue = ["model": .string(o["model"]?.stringValue ?? "FakeNet"), "seed": 7, "dtype": "float32",
                                 "format": "safetensors", "tensors": .array(tensors)]
        return (Layout(bytes: bytes, report: report), o)
    }

    func prepare(_ body: JSONValue) throws(BackendError) -> PreparedCheckpoint {
        let (layout, o) = try Self.layout(body)
        return Prepared(backend: self, layout: layout, chunk: Int(o["chunk"]?.intValue ?? 4096),
                        delay: o["delay"]?.numberValue ?? 0, failAt: o["failAt"]?.intValue.map(Int.init))
    }

    func plan(_ body: JSONValue) throws(BackendError) -> JSONValue { try Self.layout(body).0.report }

    func registry() -> JSONValue { ["initializers": [], "modules": []] }

    fileprivate func created() { lock.withLock { made += 1 } }

    private struct Prepared: PreparedCheckpoint {
        let backend: TensorFakeBackend
        let layout: Layout
        let chunk: Int
        let delay: Double
        let failAt: Int?
        var contentLength: UInt64 { UInt64(layout.bytes.count) }
        var fileName: String { "fake<net>.safetensors" }
        var seed: String { "7" }
        var jobBytes: UInt64 { contentLength }
        var report: JSONValue? { layout.report }
        func makeStream() -> CheckpointByteStream { backend.created(); return Stream(self) }
    }

    private final class Stream: CheckpointByteStream {
        let p: Prepared
        var position = 0
        init(_ p: Prepared) { self.p = p }
        struct Failure: Error, CustomStringConvertible { var description: String { "injected failure" } }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            if p.delay > 0 { usleep(UInt32(p.delay * 1e6)) }
            if let failAt = p.failAt, position >= failAt { throw Failure() }
            let n = min(buffer.count, p.chunk, p.layout.bytes.count - position)
            for k in 0..<n { buffer[k] = p.layout.bytes[position + k] }
            position += n
            return n
        }
    }
}
