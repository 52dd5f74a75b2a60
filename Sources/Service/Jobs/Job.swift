import Foundation
import JSON

/// The life of an async job: `queued` → `running` → `done` | `failed`; `cancelled` from either
/// of the first two (DELETE). Finished states are final.
enum JobState: String, Sendable {
    case queued, running, done, failed, cancelled

    var isFinished: Bool { self == .done || self == .failed || self == .cancelled }
}

/// Where one tensor's bytes are in the checkpoint (from the report's `byte_range`).
struct TensorSlot: Sendable {
    /// Index into the report's `tensors`.
    var index: Int
    var name: String
    var dtype: String
    var range: Range<UInt64>
}

/// One job: what is persisted next to its file, and the live bits (ticket, cancel flag).
/// Every mutable field is guarded by the owning `JobStore`'s lock.
final class Job: @unchecked Sendable {
    let id: String
    let createdAt: Date
    let idempotencyKey: String?
    /// SHA-256 of the request body as re-serialized (so key order matters, whitespace does not).
    let bodyHash: String
    let contentLength: UInt64
    let fileName: String
    let seed: String
    /// The plan's init report (byte ranges included); when done, with `sha256` and `stats` per tensor.
    var report: JSONValue
    let slots: [TensorSlot]

    var state: JobState
    var startedAt: Date?
    var finishedAt: Date?
    var reason: String?
    var bytesDone: UInt64 = 0
    var tensorsDone = 0
    var sha256: String?

    /// Live only (never persisted).
    var ticket: JobTicket?
    var cancelRequested = false

    init(id: String, createdAt: Date, idempotencyKey: String?, bodyHash: String, contentLength: UInt64,
         fileName: String, seed: String, report: JSONValue, state: JobState = .queued) {
        self.id = id
        self.createdAt = createdAt
        self.idempotencyKey = idempotencyKey
        self.bodyHash = bodyHash
        self.contentLength = contentLength
        self.fileName = fileName
        self.seed = seed
        self.report = report
        self.state = state
        self.slots = Self.slots(of: report)
    }

    var tensorsTotal: Int { slots.count }

    /// Bytes this job holds (or will hold) in the spool.
    var spoolBytes: UInt64 {
        switch state {
        case .queued, .running, .done: contentLength
        case .failed, .cancelled: 0
        }
    }

    static func slots(of report: JSONValue) -> [TensorSlot] {
        guard let tensors = report.objectValue?["tensors"]?.arrayValue else { return [] }
        var out: [TensorSlot] = []
        for (i, t) in tensors.enumerated() {
            guard let o = t.objectValue, let r = o["byte_range"]?.arrayValue, r.count == 2,
                  let lo = r[0].intValue, let hi = r[1].intValue, lo >= 0, hi >= lo else { continue }
            out.append(TensorSlot(index: i, name: o["name"]?.stringValue ?? "", dtype: o["dtype"]?.stringValue ?? "",
                                  range: UInt64(lo)..<UInt64(hi)))
        }
        return out
    }

    // MARK: Persistence

    static let formatVersion: Int64 = 1

    func metadata() -> JSONValue {
        var o: JSONObject = [
            "format_version": .int(Self.formatVersion),
            "id": .string(id),
            "state": .string(state.rawValue),
            "created_at": .double(createdAt.timeIntervalSince1970),
            "body_sha256": .string(bodyHash),
            "content_length": .int(Int64(clamping: contentLength)),
            "file_name": .string(fileName),
            "seed": .string(seed),
        ]
        if let idempotencyKey { o["idempotency_key"] = .string(idempotencyKey) }
        if let startedAt { o["started_at"] = .double(startedAt.timeIntervalSince1970) }
        if let finishedAt { o["finished_at"] = .double(finishedAt.timeIntervalSince1970) }
        if let reason { o["reason"] = .string(reason) }
        if let sha256 { o["sha256"] = .string(sha256) }
        o["report"] = report
        return .object(o)
    }

    /// A job read back from its metadata file; nil when the file is not one of ours.
    static func fromMetadata(_ value: JSONValue) -> Job? {
        guard let o = value.objectValue, o["format_version"]?.intValue == formatVersion,
              let id = o["id"]?.stringValue, JobID.isValid(id),
              let state = o["state"]?.stringValue.flatMap(JobState.init(rawValue:)),
              let created = o["created_at"]?.numberValue, let bodyHash = o["body_sha256"]?.stringValue,
              let length = o["content_length"]?.intValue, length >= 0,
              let fileName = o["file_name"]?.stringValue, let seed = o["seed"]?.stringValue else { return nil }
        let job = Job(id: id, createdAt: Date(timeIntervalSince1970: created), idempotencyKey: o["idempotency_key"]?.stringValue,
                      bodyHash: bodyHash, contentLength: UInt64(length), fileName: fileName, seed: seed,
                      report: o["report"] ?? .null, state: state)
        job.startedAt = o["started_at"]?.numberValue.map { Date(timeIntervalSince1970: $0) }
        job.finishedAt = o["finished_at"]?.numberValue.map { Date(timeIntervalSince1970: $0) }
        job.reason = o["reason"]?.stringValue
        job.sha256 = o["sha256"]?.stringValue
        if state == .done {
            job.bytesDone = job.contentLength
            job.tensorsDone = job.slots.count
        }
        return job
    }
}

enum JobID {
    static func make() -> String { UUID().uuidString.lowercased() }

    /// A lowercase UUID: the only ids the service hands out, so nothing else reaches the file system.
    static func isValid(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 36 else { return false }
        for (i, c) in u.enumerated() {
            if [8, 13, 18, 23].contains(i) { if c != UInt8(ascii: "-") { return false } }
            else if !((c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f"))) { return false }
        }
        return true
    }
}
