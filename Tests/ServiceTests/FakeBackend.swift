import HTTPTestSupport
import Testing
import Foundation
import JSON
import Logging
import Service

/// A backend whose behaviour the request body chooses:
/// `{"size": N, "delay": seconds per read, "failAt": offset, "reject": "/pointer", "seed": "…"}`.
final class FakeBackend: InitializationBackend, @unchecked Sendable {
    let version = "test-1.0"
    private let lock = NSLock()
    private var live = 0
    private var made = 0

    /// Byte streams currently alive (created and not yet freed).
    var liveStreams: Int { lock.withLock { live } }
    var streamsMade: Int { lock.withLock { made } }

    func prepare(_ body: JSONValue) throws(BackendError) -> PreparedCheckpoint {
        let o = try object(body)
        if let pointer = o["reject"]?.stringValue {
            throw BackendError(status: 422, title: "Invalid model spec", detail: "rejected on request", pointer: pointer)
        }
        let size = o["size"]?.intValue ?? 1000
        guard size >= 0 else { throw BackendError(detail: "size must not be negative", pointer: "/size") }
        return Prepared(backend: self, size: UInt64(size), delay: o["delay"]?.numberValue ?? 0,
                        failAt: o["failAt"]?.intValue.map(UInt64.init), seed: o["seed"]?.stringValue ?? "42")
    }

    func plan(_ body: JSONValue) throws(BackendError) -> JSONValue {
        let o = try object(body)
        if let pointer = o["reject"]?.stringValue {
            throw BackendError(status: 422, title: "Invalid model spec", detail: "rejected on request", pointer: pointer)
        }
        return ["tensors": [["name": "weight", "shape": [2, 3]]], "seed": .string(o["seed"]?.stringValue ?? "42")]
    }

    func registry() -> JSONValue {
        ["initializers": [["name": "Constant", "class": "ConstantInit"]], "modules": ["Linear"]]
    }

    private func object(_ body: JSONValue) throws(BackendError) -> JSONObject {
        guard let o = body.objectValue else { throw BackendError(detail: "request body must be a JSON object", pointer: "") }
        return o
    }

    fileprivate func streamCreated() { lock.withLock { live += 1; made += 1 } }
    fileprivate func streamFreed() { lock.withLock { live -= 1 } }
}

func fakeByte(_ i: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: (i * 7) % 253) }

private struct Prepared: PreparedCheckpoint {
    let backend: FakeBackend
    let size: UInt64
    let delay: Double
    let failAt: UInt64?
    let seed: String
    var contentLength: UInt64 { size }
    var fileName: String { "model.safetensors" }
    var jobBytes: UInt64 { size }
    func makeStream() -> CheckpointByteStream { FakeStream(self) }
}

private final class FakeStream: CheckpointByteStream {
    let spec: Prepared
    var position: UInt64 = 0
    init(_ spec: Prepared) { self.spec = spec; spec.backend.streamCreated() }
    deinit { spec.backend.streamFreed() }

    struct Failure: Error {}

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if spec.delay > 0 { usleep(UInt32(spec.delay * 1e6)) }
        if let failAt = spec.failAt, position >= failAt { throw Failure() }
        let n = Int(min(UInt64(buffer.count), spec.size - position))
        for k in 0..<n { buffer[k] = fakeByte(position + UInt64(k)) }
        position += UInt64(n)
        return n
    }
}

/// Collects log records (message + metadata) for assertions.
final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var records: [(String, Logger.Metadata)] = []
    func append(_ message: String, _ metadata: Logger.Metadata) { lock.withLock { records.append((message, metadata)) } }
    var all: [(String, Logger.Metadata)] { lock.withLock { records } }
    func requests(path: String) -> [Logger.Metadata] {
        all.filter { $0.0 == "request" && $0.1["path"]?.description == path }.map(\.1)
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            capture.append(event.message.description, metadata.merging(event.metadata ?? [:]) { $1 })
        }
    }
}

/// A service on ephemeral ports with the fake backend.
func startService(_ configure: (inout ServiceConfig) -> Void = { _ in })
    throws -> (WeightInitService, FakeBackend, LogCapture) {
    var config = ServiceConfig()
    config.port = 0
    config.opsPort = 0
    config.maxStreams = 2
    config.queueDepth = 2
    config.maxBodyBytes = 64 << 10
    config.maxJobBytes = 1 << 30
    config.shutdownGrace = 5
    configure(&config)
    let backend = FakeBackend()
    let capture = LogCapture()
    let service = WeightInitService(config: config, backend: backend) { _ in LogCapture.Handler(capture: capture) }
    try service.start()
    return (service, backend, capture)
}

func jsonBody(_ value: JSONValue) -> [UInt8] { JSONCodec.serializeBytes(value) }

let jsonHeaders = [("Content-Type", "application/json")]

/// Parses a problem+json response body.
func problem(_ r: RawResponse) throws -> JSONObject {
    try #require(r.header("Content-Type") == "application/problem+json", "content type \(r.header("Content-Type") ?? "-")")
    let value = try JSONCodec.parse(r.body)
    return try #require(value.objectValue)
}

/// The value of an unlabeled sample in Prometheus text.
func metricValue(_ text: String, _ name: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
        return Double(line.split(separator: " ")[1])
    }
    return nil
}

