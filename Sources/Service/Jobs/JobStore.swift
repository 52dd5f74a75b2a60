import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JSON
import Logging

/// Every async job of this process and its spool folder.
///
/// Layout of the spool: `<id>.json` (metadata, written atomically: temp file + rename),
/// `<id>.partial` while the checkpoint is written, renamed to `<id>.checkpoint` when complete.
/// At start-up the folder is read back: finished jobs are served again, jobs that were queued or
/// running are marked `failed` (their partial files removed), stray files are deleted.
final class JobStore: @unchecked Sendable {
    let directory: URL
    let maxBytes: UInt64
    let ttl: Double
    private let logger: Logger
    private let lock = NSLock()
    private var jobs: [String: Job] = [:]
    private var byKey: [String: String] = [:]
    private var timer: DispatchSourceTimer?
    /// Why the spool cannot be used (folder not writable, or another process's); nil when fine.
    let unavailableReason: String?
    /// An exclusive flock on `<spool>/.lock`: one process per spool folder.
    private var lockFD: Int32 = -1

    init(directory: String?, maxBytes: UInt64, ttl: Double, logger: Logger) {
        let dir = directory.map { URL(fileURLWithPath: $0, isDirectory: true) }
            ?? URL(fileURLWithPath: NSTemporaryDirectory(), isDirectory: true).appendingPathComponent("weightinit-jobs", isDirectory: true)
        self.directory = dir.standardizedFileURL
        self.maxBytes = maxBytes
        self.ttl = ttl
        self.logger = logger
        var reason: String?
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let probe = dir.appendingPathComponent(".probe-\(JobID.make())")
            guard FileManager.default.createFile(atPath: probe.path, contents: Data()) else {
                throw ServiceError(description: "cannot create files in \(dir.path)")
            }
            try? FileManager.default.removeItem(at: probe)
        } catch {
            reason = "spool folder \(dir.path) is not usable: \(error)"
        }
        if reason == nil {
            let fd = open(dir.appendingPathComponent(".lock").path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            if fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 {
                lockFD = fd
            } else {
                if fd >= 0 { close(fd) }
                reason = "spool folder \(dir.path) is in use by another weightinit process (give each one its own --spool-dir)"
            }
        }
        unavailableReason = reason
        if reason == nil { recover() }
    }

    /// Gives the spool folder up (shutdown): another process, or a new service, may take it over.
    func relinquish() {
        stopSweeping()
        lock.withLock {
            if lockFD >= 0 { Foundation.close(lockFD); lockFD = -1 }
        }
    }

    func file(_ id: String, _ suffix: String) -> URL { directory.appendingPathComponent("\(id).\(suffix)") }

    // MARK: Start-up

    private func recover() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var keep = Set<String>()
        var recovered = 0, interrupted = 0
        for name in names where name.hasSuffix(".json") {
            let id = String(name.dropLast(5))
            guard JobID.isValid(id), let data = FileManager.default.contents(atPath: file(id, "json").path),
                  let value = try? JSONCodec.parse([UInt8](data), maxDepth: 512), let job = Job.fromMetadata(value) else { continue }
            switch job.state {
            case .queued, .running:
                job.state = .failed
                job.finishedAt = Date()
                job.reason = "interrupted: the server stopped before the job finished"
                interrupted += 1
            case .done:
                let size = (try? FileManager.default.attributesOfItem(atPath: file(id, "checkpoint").path)[.size] as? NSNumber)?.uint64Value
                if size != job.contentLength {
                    job.state = .failed
                    job.reason = "the checkpoint file is missing from the spool folder"
                }
            case .failed, .cancelled:
                break
            }
            persist(job)
            jobs[id] = job
            if let key = job.idempotencyKey { byKey[key] = id }
            keep.insert("\(id).json")
            if job.state == .done { keep.insert("\(id).checkpoint") }
            recovered += 1
        }
        // Partial files, temp files and files of unreadable metadata.
        for name in names where !keep.contains(name) && (name.hasSuffix(".partial") || name.hasSuffix(".checkpoint") || name.hasSuffix(".tmp")) {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
        if recovered > 0 {
            logger.info("jobs recovered from the spool", metadata: [
                "spool_dir": .string(directory.path), "jobs": .stringConvertible(recovered), "interrupted": .stringConvertible(interrupted)])
        }
    }

    // MARK: Expiry

    func startSweeping() {
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "weightinit.jobs.sweep", qos: .utility))
        let interval = Swift.min(60, Swift.max(0.25, ttl / 4))
        t.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(100))
        t.setEventHandler { [weak self] in self?.sweep() }
        t.resume()
        lock.withLock { timer = t }
    }

    func stopSweeping() {
        lock.withLock { timer?.cancel(); timer = nil }
    }

    func expiresAt(_ job: Job) -> Date? { job.finishedAt.map { $0.addingTimeInterval(ttl) } }

    /// Removes finished jobs past their expiry, with their files.
    func sweep(now: Date = Date()) {
        let expired: [Job] = lock.withLock {
            let gone = jobs.values.filter { $0.state.isFinished && (expiresAt($0).map { $0 <= now } ?? false) }
            for job in gone { forget(job) }
            return gone
        }
        for job in expired { removeFiles(job.id) }
        if !expired.isEmpty { logger.info("jobs expired", metadata: ["jobs": .stringConvertible(expired.count)]) }
    }

    // MARK: Queries

    /// A job by id, nil when unknown or expired.
    func job(_ id: String) -> Job? {
        guard JobID.isValid(id) else { return nil }
        let (job, expired): (Job?, Bool) = lock.withLock {
            guard let job = jobs[id] else { return (nil, false) }
            if job.state.isFinished, let e = expiresAt(job), e <= Date() {
                forget(job)
                return (nil, true)
            }
            return (job, false)
        }
        if expired { removeFiles(id) }
        return job
    }

    func jobForKey(_ key: String) -> Job? {
        guard let id = lock.withLock({ byKey[key] }) else { return nil }
        return job(id)
    }

    /// Bytes the spool holds or has promised to running and queued jobs.
    var usedBytes: UInt64 { lock.withLock { jobs.values.reduce(0) { $0 + $1.spoolBytes } } }

    var count: Int { lock.withLock { jobs.count } }

    /// Reads job fields consistently.
    func read<T>(_ body: () -> T) -> T { lock.withLock(body) }

    // MARK: Changes

    enum InsertOutcome {
        case inserted
        /// Another request registered the same key first.
        case existing(Job)
        case spoolFull(used: UInt64)
    }

    func insert(_ job: Job) -> InsertOutcome {
        let outcome: InsertOutcome = lock.withLock {
            if let key = job.idempotencyKey, let id = byKey[key], let existing = jobs[id] { return .existing(existing) }
            let used = jobs.values.reduce(0) { $0 + $1.spoolBytes }
            guard used <= maxBytes, job.contentLength <= maxBytes - used else { return .spoolFull(used: used) }
            jobs[job.id] = job
            if let key = job.idempotencyKey { byKey[key] = job.id }
            persist(job)
            return .inserted
        }
        return outcome
    }

    /// Applies `change` under the lock and persists the job (atomically) when it returns true.
    @discardableResult
    func update(_ job: Job, _ change: (Job) -> Bool) -> Bool {
        lock.withLock {
            guard change(job) else { return false }
            if jobs[job.id] === job { persist(job) }
            return true
        }
    }

    /// Marks a queued or running job finished with `state` (cancelled, or failed at shutdown) and asks
    /// its runner to stop. A queued job's place in the queue is given back at once.
    @discardableResult
    func stop(_ job: Job, state: JobState, reason: String) -> Bool {
        var ticket: JobTicket?
        let stopped: Bool = lock.withLock {
            guard !job.state.isFinished else { return false }
            if job.state == .queued { ticket = job.ticket }
            job.cancelRequested = true
            job.state = state
            job.reason = reason
            job.finishedAt = Date()
            if jobs[job.id] === job { persist(job) }
            return true
        }
        ticket?.release()
        if stopped, ticket != nil { removeFiles(job.id, metadata: false) }
        return stopped
    }

    /// Forgets a finished job and deletes its files.
    func delete(_ job: Job) {
        lock.withLock { forget(job) }
        removeFiles(job.id)
    }

    /// Stops every unfinished job (shutdown).
    func stopAll(reason: String) {
        let live = lock.withLock { jobs.values.filter { !$0.state.isFinished } }
        for job in live { stop(job, state: .failed, reason: reason) }
    }

    var unfinishedCount: Int { lock.withLock { jobs.values.filter { !$0.state.isFinished }.count } }

    // MARK: Files

    /// Under the lock.
    private func forget(_ job: Job) {
        guard jobs[job.id] === job else { return }
        jobs[job.id] = nil
        if let key = job.idempotencyKey, byKey[key] == job.id { byKey[key] = nil }
    }

    func removeFiles(_ id: String, metadata: Bool = true) {
        for suffix in metadata ? ["partial", "checkpoint", "json"] : ["partial"] {
            try? FileManager.default.removeItem(at: file(id, suffix))
        }
    }

    /// Writes `<id>.json` atomically (temp file, fsync, rename). Under the lock, so a later state
    /// never loses to an earlier one.
    private func persist(_ job: Job) {
        let bytes = JSONCodec.serializeBytes(job.metadata())
        let tmp = file(job.id, "json.tmp").path
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            logger.error("cannot write job metadata", metadata: ["job_id": .string(job.id), "errno": .stringConvertible(Int(errno))])
            return
        }
        let ok = bytes.withUnsafeBytes { writeAll(fd, $0) } && fsync(fd) == 0
        Foundation.close(fd)
        if !ok || rename(tmp, file(job.id, "json").path) != 0 {
            logger.error("cannot write job metadata", metadata: ["job_id": .string(job.id), "errno": .stringConvertible(Int(errno))])
            unlink(tmp)
        }
    }
}

/// write(2) until done; false on an error.
func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
    var done = 0
    while done < bytes.count {
        let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
        if n < 0 {
            if errno == EINTR { continue }
            return false
        }
        done += n
    }
    return true
}
