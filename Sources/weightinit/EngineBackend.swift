import Engine
import Foundation
import JSON
import Service

/// The real engine behind the service's `InitializationBackend`.
struct EngineBackend: InitializationBackend {
    let options: EngineOptions

    init(checkpointDir: String?, maxJobBytes: UInt64, allowedURLPrefixes: [String] = []) {
        options = EngineOptions(maxJobBytes: maxJobBytes, checkpointDirectory: checkpointDir, allowedCheckpointURLPrefixes: allowedURLPrefixes)
    }

    init(options: EngineOptions) { self.options = options }

    func prepare(_ body: JSONValue) throws(BackendError) -> PreparedCheckpoint {
        do {
            return PreparedJobAdapter(job: try Engine.prepare(body, options: options))
        } catch {
            throw BackendError(status: 422, title: error.title, detail: error.message, pointer: error.pointer.description)
        }
    }

    func plan(_ body: JSONValue) throws(BackendError) -> JSONValue {
        do {
            return try Engine.prepare(body, options: options).report
        } catch {
            throw BackendError(status: 422, title: error.title, detail: error.message, pointer: error.pointer.description)
        }
    }

    func plan(_ body: JSONValue, safetensorsHeader: Bool) throws(BackendError) -> JSONValue {
        do {
            let job = try Engine.prepare(body, options: options)
            guard safetensorsHeader, let header = job.safetensorsHeader, case .object(var o) = job.report else { return job.report }
            o["safetensors_header"] = .string(Data(header).base64EncodedString())
            return .object(o)
        } catch {
            throw BackendError(status: 422, title: error.title, detail: error.message, pointer: error.pointer.description)
        }
    }

    func registry() -> JSONValue { Engine.registry() }

    var version: String { Engine.version }
}

private struct PreparedJobAdapter: PreparedCheckpoint {
    let job: PreparedJob
    var contentLength: UInt64 { job.contentLength }
    var fileName: String { job.fileName }
    var seed: String { String(job.seed) }
    var jobBytes: UInt64 { job.contentLength }
    var report: JSONValue? { job.report }
    func makeStream() -> CheckpointByteStream { StreamAdapter(stream: job.makeStream()) }
    func makeStream(pieceBytes: Int) -> CheckpointByteStream {
        StreamAdapter(stream: job.makeStream(chunkBytes: CheckpointStream.chunkBytes(forPieceBuffer: pieceBytes)))
    }
}

private final class StreamAdapter: CheckpointByteStream {
    let stream: CheckpointStream
    init(stream: CheckpointStream) { self.stream = stream }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int { try stream.read(into: buffer) }
    func produce(into buffer: UnsafeMutableRawBufferPointer) throws -> Range<Int> { try stream.produce(into: buffer) }
}

extension SpecError {
    var title: String {
        switch kind {
        case .invalid: "Invalid model spec"
        case .rejected: "Spec rejected by PyTorch/MMEngine semantics"
        case .limit: "Job exceeds a server limit"
        }
    }
}
