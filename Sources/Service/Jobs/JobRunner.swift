import Foundation
import JSON
import Logging

/// Writes one job's checkpoint to the spool, a chunk per step on the job queue's CPU pool (so
/// jobs share workers with /initialize streams and count against the same limits), hashing the
/// file and each tensor and taking each tensor's statistics as the bytes go by.
///
/// Steps never overlap: each one submits the next as its last action.
final class JobRunner: @unchecked Sendable {
    static let chunkBytes = 1 << 20

    private let job: Job
    private let store: JobStore
    private let prepared: any PreparedCheckpoint
    private let ticket: JobTicket
    private let logger: Logger
    private let onEnd: @Sendable (JobState, Double?) -> Void

    // Touched only by steps.
    private var stream: CheckpointByteStream?
    private var fd: Int32 = -1
    private var buffer: UnsafeMutableRawBufferPointer?
    private var position: UInt64 = 0
    private var fileHash = SHA256()
    /// Slots in file order, and per slot its hash and statistics.
    private let order: [Int]
    private var cursor = 0
    private var hashes: [SHA256]
    private var stats: [TensorStatistics?]
    private var completedTensors = 0

    init(job: Job, store: JobStore, prepared: any PreparedCheckpoint, ticket: JobTicket, logger: Logger,
         onEnd: @escaping @Sendable (JobState, Double?) -> Void) {
        self.job = job
        self.store = store
        self.prepared = prepared
        self.ticket = ticket
        self.logger = logger
        self.onEnd = onEnd
        order = job.slots.indices.sorted { job.slots[$0].range.lowerBound < job.slots[$1].range.lowerBound }
        hashes = Array(repeating: SHA256(), count: job.slots.count)
        stats = job.slots.map { TensorStatistics(dtype: $0.dtype) }
    }

    func start() { ticket.submit { [self] in step() } }

    private func step() {
        if store.read({ job.cancelRequested }) { return end(nil) }
        do {
            if stream == nil { try begin() }
            guard let stream, let buffer else { return }
            let n = try stream.read(into: buffer)
            if n == 0 { return try finish() }
            guard position + UInt64(n) <= job.contentLength else {
                throw JobFailure("the checkpoint came out longer than its planned \(job.contentLength) bytes")
            }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            guard writeAll(fd, chunk) else { throw JobFailure("writing to the spool failed: \(String(cString: strerror(errno)))") }
            account(chunk)
            let (bytes, tensors) = (position, completedTensors)
            store.read { job.bytesDone = bytes; job.tensorsDone = tensors }
        } catch {
            return end((error as? JobFailure)?.message ?? "generation failed: \(error)")
        }
        ticket.submit { [self] in step() }
    }

    private func begin() throws {
        let path = store.file(job.id, "partial").path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw JobFailure("cannot create the spool file: \(String(cString: strerror(errno)))") }
        buffer = .allocate(byteCount: Self.chunkBytes, alignment: 64)
        stream = prepared.makeStream()
        store.update(job) { job in
            guard job.state == .queued else { return false }
            job.state = .running
            job.startedAt = Date()
            return true
        }
    }

    /// Feeds the chunk at `position` to the file hash and to every tensor it overlaps.
    private func account(_ chunk: UnsafeRawBufferPointer) {
        fileHash.update(chunk)
        let lo = position, hi = position + UInt64(chunk.count)
        var i = cursor
        while i < order.count {
            let slot = job.slots[order[i]]
            if slot.range.lowerBound >= hi { break }
            let a = max(lo, slot.range.lowerBound), b = min(hi, slot.range.upperBound)
            if a < b {
                let part = UnsafeRawBufferPointer(rebasing: chunk[Int(a - lo)..<Int(b - lo)])
                hashes[order[i]].update(part)
                stats[order[i]]?.update(part)
            }
            if slot.range.upperBound <= hi {
                if i == cursor { cursor += 1 }
                completedTensors += 1
                i += 1
                continue
            }
            i += 1
        }
        position = hi
    }

    private func finish() throws {
        guard position == job.contentLength else {
            throw JobFailure("the checkpoint ended after \(position) of its planned \(job.contentLength) bytes")
        }
        guard fsync(fd) == 0 else { throw JobFailure("flushing the spool file failed: \(String(cString: strerror(errno)))") }
        close(fd)
        fd = -1
        guard rename(store.file(job.id, "partial").path, store.file(job.id, "checkpoint").path) == 0 else {
            throw JobFailure("cannot move the finished checkpoint into place: \(String(cString: strerror(errno)))")
        }
        let digest = fileHash.hexDigest()
        var report = job.report
        if case .object(var o) = report, var tensors = o["tensors"]?.arrayValue {
            for (k, slot) in job.slots.enumerated() {
                guard case .object(var t) = tensors[slot.index] else { continue }
                t["sha256"] = .string(hashes[k].hexDigest())
                t["stats"] = stats[k]?.json ?? .null
                tensors[slot.index] = .object(t)
            }
            o["tensors"] = .array(tensors)
            o["sha256"] = .string(digest)
            report = .object(o)
        }
        let finished = store.update(job) { job in
            guard !job.state.isFinished else { return false }
            job.state = .done
            job.finishedAt = Date()
            job.sha256 = digest
            job.report = report
            job.bytesDone = job.contentLength
            job.tensorsDone = job.slots.count
            return true
        }
        if !finished { store.removeFiles(job.id, metadata: false); try? FileManager.default.removeItem(at: store.file(job.id, "checkpoint")) }
        release(finished ? .done : nil)
    }

    /// Stops: cancelled/shut down (`failure` nil; the state was set by whoever stopped it) or failed.
    private func end(_ failure: String?) {
        if fd >= 0 { close(fd); fd = -1 }
        store.removeFiles(job.id, metadata: false)
        var final: JobState?
        if let failure {
            let failed = store.update(job) { job in
                guard !job.state.isFinished else { return false }
                job.state = .failed
                job.reason = failure
                job.finishedAt = Date()
                return true
            }
            if failed {
                final = .failed
                logger.error("job failed", metadata: ["job_id": .string(job.id), "error": .string(failure)])
            }
        }
        release(final ?? store.read { job.state })
    }

    private func release(_ state: JobState?) {
        stream = nil   // the generator's memory goes now
        buffer?.deallocate()
        buffer = nil
        let seconds = ticket.runSeconds
        ticket.release()
        onEnd(state ?? .cancelled, seconds)
    }
}

struct JobFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
