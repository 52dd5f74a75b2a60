import Checkpoints
import JSON
import MMEngine
import Model

/// The engine's entry points: validate and plan a request, then stream its checkpoint.
public enum Engine {
    public static var version: String { InitReport.version }
    /// A program's storages (temporaries included, as the replay holds them) may take this many times the job
    /// limit in bytes; its ops may write this many elements per byte of the job limit.
    public static let programStorageFactor: UInt64 = 4
    public static let programWorkFactor: UInt64 = 16

    /// Parses and plans a request body. Nothing is generated.
    /// Element operations a program's whole-tensor replay may take per byte of its checkpoint, and the smallest
    /// checkpoint size that budget is computed from (so small models are never refused by it).
    static let replayWorkFactor: UInt64 = 64
    static let replayWorkFloor: UInt64 = 16 << 20

    public static func prepare(_ body: JSONValue, options: EngineOptions = EngineOptions(),
                               defaultFormat: CheckpointFormat = .safetensors) throws(SpecError) -> PreparedJob
    {
        let request = try InitRequest(body, defaultFormat: defaultFormat)
        let loader = (options.checkpointDirectory != nil || !options.allowedCheckpointURLPrefixes.isEmpty)
            ? CheckpointDirectoryLoader(root: options.checkpointDirectory, allowedURLPrefixes: options.allowedCheckpointURLPrefixes,
                                        maxDownloadBytes: options.maxCheckpointDownloadBytes,
                                        downloadTimeout: options.checkpointDownloadTimeout)
            : nil
        let plan = try Plan.make(request, pretrained: loader)
        if let cost = plan.programCost {
            // A program's temporaries and dead draws are not in the checkpoint: bound them by the job limit too
            // (docs/programs.md, "Limits"), before anything is allocated or drawn.
            let (maxStorage, o1) = options.maxJobBytes.multipliedReportingOverflow(by: Engine.programStorageFactor)
            if !o1 && cost.storageBytes > maxStorage {
                throw SpecError(.limit, at: JSONPointer(["program", "storages"]),
                                "the program's storages hold \(cost.storageBytes) bytes while it is replayed, over this server's limit of \(maxStorage) bytes (\(Engine.programStorageFactor) x the job limit)")
            }
            let (maxWork, o2) = options.maxJobBytes.multipliedReportingOverflow(by: Engine.programWorkFactor)
            if !o2 && cost.workElements > maxWork {
                throw SpecError(.limit, at: JSONPointer(["program", "ops"]),
                                "the program's ops write \(cost.workElements) elements, over this server's limit of \(maxWork) (\(Engine.programWorkFactor) x the job limit in bytes)")
            }
        }
        let job = PreparedJob(plan: plan)
        if plan.programCost != nil {
            // Tensors computed whole replay their copy sources at each version they read: a small program can ask
            // for work quadratic in its copies. Bound it by what the checkpoint itself costs, generously.
            let limit = Engine.replayWorkFactor &* max(job.contentLength, Engine.replayWorkFloor)
            let (operations, cached) = plan.wholeEvaluationCost(limit: limit)
            if operations > limit {
                throw SpecError(.limit, at: JSONPointer(["program", "ops"]),
                                "replaying the program's copies would take over \(limit) element operations (\(Engine.replayWorkFactor) per byte of its checkpoint); it reads too many versions of its temporaries")
            }
            if cached &* 8 > limit {
                throw SpecError(.limit, at: JSONPointer(["program", "ops"]),
                                "replaying the program's copies would hold \(cached) elements of intermediate values, over \(limit / 8)")
            }
        }
        if job.contentLength > options.maxJobBytes {
            throw SpecError(.limit, at: JSONPointer([request.source.key]),
                            "the checkpoint would be \(job.contentLength) bytes, over this server's limit of \(options.maxJobBytes) bytes")
        }
        return job
    }
}

/// A planned job: its size, report and file name are known; values are produced by `makeStream()`.
public final class PreparedJob: @unchecked Sendable {
    public let plan: Plan
    public let contentLength: UInt64
    /// The init report embedded in the checkpoint.
    public let report: JSONValue
    private let writerTemplate: any CheckpointWriter

    init(plan: Plan) {
        self.plan = plan
        let entries = plan.entries
        var report: JSONValue = .null
        let writer: any CheckpointWriter
        switch plan.request.format {
        case .safetensors:
            writer = SafetensorsWriter(entries: entries, metadataEmbedsRanges: true) { ranges in
                // The report holds byte ranges (each bound once), which depend on the header length: the writer
                // finds the fixed point.
                report = InitReport.make(plan, ranges: ranges, totalBytes: nil)
                return [(key: "init_report", value: JSONCodec.serialize(report))]
            }
        case .pytorch:
            writer = TorchZipWriter(entries: entries, archiveName: "archive") { ranges in
                report = InitReport.make(plan, ranges: ranges, totalBytes: nil)
                return [(name: "init_report.json", bytes: JSONCodec.serializeBytes(report, pretty: true))]
            }
        }
        self.writerTemplate = writer
        self.contentLength = writer.totalBytes
        self.report = report
    }

    /// The exact safetensors header (8-byte length + padded JSON) of this job's file; nil for the pytorch format.
    public var safetensorsHeader: [UInt8]? { (writerTemplate as? SafetensorsWriter)?.header }

    public var seed: Int64 { plan.request.seed }
    public var format: CheckpointFormat { plan.request.format }

    /// `ToyNet-seed0.safetensors`
    public var fileName: String {
        let safe = plan.root.className.filter { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
        return "\(safe.isEmpty ? "model" : safe)-seed\(seed).\(format.fileExtension)"
    }

    /// `chunkBytes`: how much generated data is staged at a time (memory is bounded by it, not by the largest tensor).
    public func makeStream(chunkBytes: Int = CheckpointStream.defaultChunkBytes) -> CheckpointStream {
        CheckpointStream(plan: plan, writer: writerTemplate, chunkBytes: chunkBytes)
    }
}
