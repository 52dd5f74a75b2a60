import Foundation
import HTTPServer
import JSON
import Logging

/// POST /jobs, GET|HEAD|DELETE /jobs/{id}, GET|HEAD /jobs/{id}/checkpoint.
final class JobsAPI: @unchecked Sendable {
    let store: JobStore
    private let backend: any InitializationBackend
    private let queue: JobQueue
    private let maxJobBytes: UInt64
    private let metrics: ServiceMetrics
    private let logger: Logger
    private let isDraining: @Sendable () -> Bool

    init(store: JobStore, backend: any InitializationBackend, queue: JobQueue, maxJobBytes: UInt64,
         metrics: ServiceMetrics, logger: Logger, isDraining: @escaping @Sendable () -> Bool) {
        self.store = store
        self.backend = backend
        self.queue = queue
        self.maxJobBytes = maxJobBytes
        self.metrics = metrics
        self.logger = logger
        self.isDraining = isDraining
    }

    // MARK: POST /jobs

    /// `body` is already checked for Content-Type and parsed, exactly as for /initialize.
    func create(_ request: HTTPRequest, body: JSONValue, requestID: String) -> HTTPResponse {
        if isDraining() {
            return Problem.unavailable("shutting down; retry on another instance", retryAfter: 5).response(requestID: requestID)
        }
        if let reason = store.unavailableReason {
            return Problem.unavailable("async jobs are unavailable: \(reason)", retryAfter: 60).response(requestID: requestID)
        }
        let key = request.headers["Idempotency-Key"]
        if let key, !Self.isValidKey(key) {
            return Problem(status: 400, type: "invalid-idempotency-key", title: "Invalid Idempotency-Key",
                           detail: "Idempotency-Key must be 1 to 255 visible ASCII characters").response(requestID: requestID)
        }
        var hasher = SHA256()
        hasher.update(JSONCodec.serializeBytes(body))
        let bodyHash = hasher.hexDigest()
        if let key, let existing = store.jobForKey(key) {
            return replay(existing, key: key, bodyHash: bodyHash, requestID: requestID)
        }
        store.sweep()
        let ticket: JobTicket, prepared: any PreparedCheckpoint
        switch queue.admitAndPrepare(body, backend: backend, maxJobBytes: maxJobBytes) {
        case .failure(let problem): return problem.response(requestID: requestID)
        case .success(let admitted): (ticket, prepared) = admitted
        }
        let report: JSONValue = prepared.report ?? ((try? backend.plan(body)) ?? .null)
        let job = Job(id: JobID.make(), createdAt: Date(), idempotencyKey: key, bodyHash: bodyHash,
                      contentLength: prepared.contentLength, fileName: prepared.fileName, seed: prepared.seed, report: report)
        job.ticket = ticket
        switch store.insert(job) {
        case .existing(let other):
            ticket.release()
            return replay(other, key: key ?? "", bodyHash: bodyHash, requestID: requestID)
        case .spoolFull(let used):
            ticket.release()
            return Problem(status: 507, type: "spool-full", title: "Insufficient Storage",
                           detail: "the spool holds \(used) of \(store.maxBytes) bytes; this job needs \(prepared.contentLength) more"
                               + (prepared.contentLength > store.maxBytes ? " (more than the whole spool)" : "; delete finished jobs or retry later"),
                           extra: [("spool_bytes", .int(Int64(clamping: used))), ("limit", .int(Int64(clamping: store.maxBytes))),
                                   ("job_bytes", .int(Int64(clamping: prepared.contentLength)))],
                           headers: ["Retry-After": "30"]).response(requestID: requestID)
        case .inserted:
            break
        }
        let metrics = self.metrics
        let runner = JobRunner(job: job, store: store, prepared: prepared, ticket: ticket, logger: logger) { state, seconds in
            metrics.jobEnded(outcome: "job_\(state.rawValue)", seconds: seconds)
        }
        logger.info("job accepted", metadata: ["job_id": .string(job.id), "request_id": .string(requestID),
                                               "bytes": .stringConvertible(Int(clamping: job.contentLength))])
        runner.start()
        return document(job, status: 202, extraHeaders: ["Location": "/jobs/\(job.id)"])
    }

    private func replay(_ job: Job, key: String, bodyHash: String, requestID: String) -> HTTPResponse {
        guard job.bodyHash == bodyHash else {
            return Problem(status: 422, type: "idempotency-key-reused", title: "Idempotency-Key reused",
                           detail: "Idempotency-Key \(key) belongs to job \(job.id), created with a different request body",
                           extra: [("job_id", .string(job.id))]).response(requestID: requestID)
        }
        return document(job, status: 202, extraHeaders: ["Location": "/jobs/\(job.id)", "Idempotent-Replayed": "true"])
    }

    static func isValidKey(_ key: String) -> Bool {
        (1...255).contains(key.utf8.count) && key.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7e }
    }

    // MARK: GET/DELETE /jobs/{id}

    func show(_ request: HTTPRequest, id: String, requestID: String) -> HTTPResponse {
        guard let job = store.job(id) else { return Self.unknown(id).response(requestID: requestID) }
        if Self.wantsHTML(request) {
            let (view, refresh) = store.read { (JobView(job, expiresAt: store.expiresAt(job)), !job.state.isFinished) }
            var headers: HTTPHeaders = ["Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "Vary": "Accept",
                                        "X-Content-Type-Options": "nosniff",
                                        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:"]
            if refresh { headers["Refresh"] = "2" }
            return HTTPResponse(status: 200, headers: headers, bytes: Array(JobPage.render(view).utf8))
        }
        return document(job, status: 200, extraHeaders: ["Vary": "Accept"])
    }

    func delete(id: String, requestID: String) -> HTTPResponse {
        guard let job = store.job(id) else { return Self.unknown(id).response(requestID: requestID) }
        if store.stop(job, state: .cancelled, reason: "cancelled by DELETE") {
            logger.info("job cancelled", metadata: ["job_id": .string(id), "request_id": .string(requestID)])
            return document(job, status: 200)
        }
        store.delete(job)
        return HTTPResponse(status: 204, headers: ["Cache-Control": "no-store"])
    }

    // MARK: GET /jobs/{id}/checkpoint

    func checkpoint(_ request: HTTPRequest, id: String, requestID: String) -> HTTPResponse {
        guard let job = store.job(id) else { return Self.unknown(id).response(requestID: requestID) }
        let (state, sha) = store.read { (job.state, job.sha256) }
        guard state == .done, let sha else {
            return Problem(status: 409, type: "job-not-done", title: "Checkpoint not available",
                           detail: "job \(id) is \(state.rawValue); its checkpoint can be fetched once it is done",
                           extra: [("state", .string(state.rawValue))], headers: ["Retry-After": "1"]).response(requestID: requestID)
        }
        let etag = "\"\(sha)\""
        let size = job.contentLength
        var headers: HTTPHeaders = [
            "ETag": etag,
            "Accept-Ranges": "bytes",
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        ]
        if EntityTag.matches(request.headers["If-None-Match"], etag) {
            return HTTPResponse(status: 304, headers: headers)
        }
        headers["Content-Type"] = "application/octet-stream"
        headers["Content-Disposition"] = ContentDisposition.attachment(job.fileName)
        headers["X-Init-Seed"] = HeaderValue.clean(job.seed)
        var range = ByteRangeRequest.parse(request.headers["Range"], size: size)
        // If-Range with another validator: the whole (new) representation.
        if let ifRange = request.headers["If-Range"], ifRange.trimmingCharacters(in: .whitespaces) != etag { range = .whole }
        let path = store.file(id, "checkpoint").path
        switch range {
        case .unsatisfiable:
            var p = Problem(status: 416, type: "range-not-satisfiable", title: "Range Not Satisfiable",
                            detail: "the checkpoint has \(size) bytes", extra: [("size", .int(Int64(clamping: size)))])
            p.headers = ["Content-Range": "bytes */\(size)", "Accept-Ranges": "bytes", "ETag": etag]
            return p.response(requestID: requestID)
        case .whole:
            guard let source = FileRangeSource(path: path, range: nil, size: size) else { return missing(id, requestID) }
            return HTTPResponse(status: 200, headers: headers, body: .stream(length: size, source: source))
        case .partial(let r):
            guard let source = FileRangeSource(path: path, range: r, size: size) else { return missing(id, requestID) }
            headers["Content-Range"] = "bytes \(r.lowerBound)-\(r.upperBound)/\(size)"
            return HTTPResponse(status: 206, headers: headers, body: .stream(length: source.length, source: source))
        }
    }

    private func missing(_ id: String, _ requestID: String) -> HTTPResponse {
        Problem(status: 410, type: "checkpoint-gone", title: "Gone",
                detail: "the checkpoint of job \(id) is no longer in the spool").response(requestID: requestID)
    }

    // MARK: Documents

    static func unknown(_ id: String) -> Problem {
        Problem(status: 404, type: "job-not-found", title: "Not Found",
                detail: "no job \(id) (unknown, deleted, or expired)")
    }

    /// `Accept: text/html` (a browser) gets the page, anything else JSON; `?view=html|json` overrides.
    static func wantsHTML(_ request: HTTPRequest) -> Bool {
        if let view = request.queryValue("view") { return view == "html" }
        guard let accept = request.headers["Accept"]?.lowercased() else { return false }
        var html: Double = 0, json: Double = 0
        for item in accept.split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            let q = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            switch parts.first ?? "" {
            case "text/html", "application/xhtml+xml": html = max(html, q)
            case "application/json", "application/*": json = max(json, q)
            default: break
            }
        }
        return html > 0 && html >= json
    }

    private func document(_ job: Job, status: Int, extraHeaders: HTTPHeaders = [:]) -> HTTPResponse {
        let doc = store.read { Self.json(job, expiresAt: store.expiresAt(job)) }
        var headers = extraHeaders
        headers["Content-Type"] = "application/json"
        headers["Cache-Control"] = "no-store"
        return HTTPResponse(status: status, headers: headers, bytes: JSONCodec.serializeBytes(doc))
    }

    /// The job document (under the store's lock).
    static func json(_ job: Job, expiresAt: Date?) -> JSONValue {
        var o: JSONObject = [
            "id": .string(job.id),
            "state": .string(job.state.rawValue),
            "created_at": .string(timestamp(job.createdAt)),
        ]
        if let d = job.startedAt { o["started_at"] = .string(timestamp(d)) }
        if let d = job.finishedAt { o["finished_at"] = .string(timestamp(d)) }
        if let d = expiresAt { o["expires_at"] = .string(timestamp(d)) }
        let total = job.contentLength
        o["progress"] = [
            "bytes_done": .int(Int64(clamping: job.bytesDone)), "bytes_total": .int(Int64(clamping: total)),
            "tensors_done": .int(Int64(job.tensorsDone)), "tensors_total": .int(Int64(job.tensorsTotal)),
            "fraction": .double(total == 0 ? (job.state == .done ? 1 : 0) : Double(job.bytesDone) / Double(total)),
        ]
        o["file_name"] = .string(job.fileName)
        o["seed"] = .string(job.seed)
        o["content_length"] = .int(Int64(clamping: total))
        if let key = job.idempotencyKey { o["idempotency_key"] = .string(key) }
        if let reason = job.reason { o["reason"] = .string(reason) }
        var links: JSONObject = ["self": .string("/jobs/\(job.id)"), "page": .string("/jobs/\(job.id)?view=html")]
        if job.state == .done {
            links["checkpoint"] = .string("/jobs/\(job.id)/checkpoint")
            if let sha = job.sha256 { o["sha256"] = .string(sha) }
            o["report"] = job.report
        }
        o["links"] = .object(links)
        return .object(o)
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
