import ArgumentParser
import Engine
import Foundation
import JSON

/// `weightinit init SPEC.json -o OUT`: writes the checkpoint without a server.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Initialize a model spec and write the checkpoint (safetensors or PyTorch zip).")

    @Argument(help: "Request JSON: {\"model\": ..., \"seed\"?: int, \"dtype\"?: float32|float16|bfloat16|float64, \"format\"?: safetensors|pytorch}.")
    var spec: String

    @Option(name: .shortAndLong, help: "Output file (- for standard output). A .pth/.pt name selects the PyTorch zip format unless the spec or --format says otherwise.")
    var output: String

    @Option(help: "Output format (safetensors or pytorch); overrides the spec's \"format\".")
    var format: String?

    @Option(help: "Folder that Pretrained `checkpoint` paths are relative to (default: the spec file's folder).")
    var checkpointDir: String?

    @Option(help: "URL prefix Pretrained checkpoints may be downloaded from; repeatable (default: none, URLs refused).")
    var allowCheckpointURLPrefix: [String] = []

    @Option(help: "Only the state-dict entries matching this glob (fnmatch-style); repeatable. Sets the request's \"include\".")
    var include: [String] = []

    @Option(help: "Threads splitting each large fill (same bytes at any count). [env: WEIGHTINIT_WORKERS] (default: CPU count)")
    var workers: Int?

    @Option(help: CPUCapabilityOption.help)
    var cpuCapability: String?

    func run() throws {
        let threads = workers ?? ProcessInfo.processInfo.environment["WEIGHTINIT_WORKERS"].flatMap { Int($0) }
            ?? ProcessInfo.processInfo.activeProcessorCount
        guard threads >= 1 else { throw ValidationError("--workers must be at least 1") }
        GenerationThreads.count = threads
        _ = try CPUCapabilityOption.install(cpuCapability)
        var body = try SpecFile.withInclude(SpecFile.read(spec), include)
        if let format {
            guard CheckpointFormat(rawValue: format) != nil else { throw ValidationError("--format must be safetensors or pytorch") }
            if case .object(var o) = body { o["format"] = .string(format); body = .object(o) }
        }
        let ext = URL(fileURLWithPath: output).pathExtension.lowercased()
        let defaultFormat: CheckpointFormat = (ext == "pth" || ext == "pt") ? .pytorch : .safetensors
        let job = try SpecFile.prepare(body, spec: spec, checkpointDir: checkpointDir, defaultFormat: defaultFormat,
                                       urlPrefixes: allowCheckpointURLPrefix)
        try write(job)
    }

    private func write(_ job: PreparedJob) throws {
        let target = try OutputTarget(path: output)
        let stream = job.makeStream()
        var total: UInt64 = 0
        do {
            // Each tensor's bytes go from the stream's staging buffer straight to the file (no intermediate copy).
            while try stream.withNextChunk({ chunk in
                guard let base = chunk.baseAddress, chunk.count > 0 else { return }
                try target.handle.write(contentsOf: UnsafeRawBufferPointer(start: base, count: chunk.count))
                total += UInt64(chunk.count)
            }) != nil {}
            guard total == job.contentLength else {
                throw CLIError("internal error: wrote \(total) bytes, planned \(job.contentLength)")
            }
            try target.commit()
        } catch {
            target.abandon()
            throw error
        }
        let name = output == "-" ? "standard output" : output
        FileHandle.standardError.write(Data("wrote \(name): \(job.plan.tensors.count) tensors, \(total) bytes, seed \(job.seed)\n".utf8))
    }
}

/// `weightinit plan SPEC.json`: prints the init report, generates nothing.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Validate a spec and print its init report (every tensor, byte range and initializer) without generating values.")

    @Argument(help: "Request JSON, as for `init`.")
    var spec: String

    @Option(help: "Folder that Pretrained `checkpoint` paths are relative to (default: the spec file's folder).")
    var checkpointDir: String?

    @Option(help: "Only the state-dict entries matching this glob (fnmatch-style); repeatable.")
    var include: [String] = []

    func run() throws {
        let body = try SpecFile.withInclude(SpecFile.read(spec), include)
        let job = try SpecFile.prepare(body, spec: spec, checkpointDir: checkpointDir, defaultFormat: .safetensors)
        print(JSONCodec.serialize(job.report, pretty: true))
    }
}

/// A one-line error and a non-zero exit status.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

enum SpecFile {
    /// `--include` globs replace the body's "include".
    static func withInclude(_ body: JSONValue, _ globs: [String]) -> JSONValue {
        guard !globs.isEmpty, case .object(var o) = body else { return body }
        o["include"] = .array(globs.map { .string($0) })
        return .object(o)
    }

    static func read(_ path: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path)") }
        do {
            return try JSONCodec.parse([UInt8](data))
        } catch {
            throw CLIError("\(path): malformed JSON at \(error)")
        }
    }

    static func prepare(_ body: JSONValue, spec: String, checkpointDir: String?, defaultFormat: CheckpointFormat,
                        urlPrefixes: [String] = []) throws -> PreparedJob {
        let dir = checkpointDir ?? URL(fileURLWithPath: spec).deletingLastPathComponent().path
        do {
            return try Engine.prepare(body, options: EngineOptions(checkpointDirectory: dir, allowedCheckpointURLPrefixes: urlPrefixes),
                                      defaultFormat: defaultFormat)
        } catch {
            throw CLIError("\(spec): \(error.description)")
        }
    }
}
