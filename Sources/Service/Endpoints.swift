import Foundation
import HTTPServer
import JSON
import Logging

/// What each endpoint does, once routing has accepted the method.
final class Endpoints: @unchecked Sendable {
    private let config: ServiceConfig
    private let backend: any InitializationBackend
    private let jobs: JobQueue
    private let metrics: ServiceMetrics
    private let logger: Logger
    private let isDraining: @Sendable () -> Bool
    private let jobsAPI: JobsAPI?
    /// GET /initializers never changes while the process lives: serialize it once.
    private lazy var registryBytes: [UInt8] = JSONCodec.serializeBytes(backend.registry())
    private let registryLock = NSLock()

    init(config: ServiceConfig, backend: any InitializationBackend, jobs: JobQueue, metrics: ServiceMetrics,
         logger: Logger, isDraining: @escaping @Sendable () -> Bool, jobsAPI: JobsAPI? = nil) {
        self.config = config
        self.backend = backend
        self.jobs = jobs
        self.metrics = metrics
        self.logger = logger
        self.isDraining = isDraining
        self.jobsAPI = jobsAPI
    }

    func serve(_ endpoint: Endpoint, _ request: HTTPRequest, requestID: String) -> HTTPResponse {
        switch endpoint {
        case .initialize: return initialize(request, requestID: requestID)
        case .plan: return plan(request, requestID: requestID)
        case .initializers:
            let bytes = registryLock.withLock { registryBytes }
            return HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], bytes: bytes)
        case .healthz:
            // Liveness: the process serves. Never tied to load, or busy pods get restarted.
            return json(200, ["status": "ok", "version": .string(backend.version)])
        case .readyz:
            if isDraining() { return Problem.unavailable("shutting down", retryAfter: 5).response(requestID: requestID) }
            if jobs.isSaturated { return Problem.unavailable("job queue is full", retryAfter: 1).response(requestID: requestID) }
            return json(200, ["status": "ready"])
        case .metrics:
            return HTTPResponse(status: 200, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                                bytes: metrics.render())
        case .jobs, .job, .jobCheckpoint:
            return jobs(endpoint, request, requestID: requestID)
        }
    }

    // MARK: Async jobs (Jobs/JobsAPI.swift)

    /// 404 for `/jobs/{id}` and `/jobs/{id}/checkpoint` of a job the store does not have (nil otherwise).
    func missingJob(_ endpoint: Endpoint) -> Problem? {
        switch endpoint {
        case .job(let id), .jobCheckpoint(let id):
            guard let api = jobsAPI else { return Problem.notFound("/jobs/\(id)") }
            return api.store.job(id) == nil ? JobsAPI.unknown(id) : nil
        default:
            return nil
        }
    }

    private func jobs(_ endpoint: Endpoint, _ request: HTTPRequest, requestID: String) -> HTTPResponse {
        guard let api = jobsAPI else { return Problem.notFound(request.path).response(requestID: requestID) }
        switch endpoint {
        case .jobs:
            switch decode(request) {
            case .failure(let problem): return problem.response(requestID: requestID)
            case .success(let body): return api.create(request, body: body, requestID: requestID)
            }
        case .job(let id):
            return request.method == "DELETE" ? api.delete(id: id, requestID: requestID) : api.show(request, id: id, requestID: requestID)
        case .jobCheckpoint(let id):
            return api.checkpoint(request, id: id, requestID: requestID)
        default:
            return Problem.notFound(request.path).response(requestID: requestID)
        }
    }

    // MARK: POST /initialize

    private func initialize(_ request: HTTPRequest, requestID: String) -> HTTPResponse {
        if isDraining() {
            return Problem.unavailable("shutting down; retry on another instance", retryAfter: 5).response(requestID: requestID)
        }
        let body: JSONValue
        switch decode(request) {
        case .failure(let problem): return problem.response(requestID: requestID)
        case .success(let value): body = value
        }
        let ticket: JobTicket, prepared: any PreparedCheckpoint
        switch jobs.admitAndPrepare(body, backend: backend, maxJobBytes: config.maxJobBytes) {
        case .failure(let problem): return problem.response(requestID: requestID)
        case .success(let admitted): (ticket, prepared) = admitted
        }
        let metrics = self.metrics
        let logger = self.logger
        let job = CheckpointJob(prepared: prepared, ticket: ticket) { outcome, seconds in
            metrics.jobEnded(outcome: outcome.label, seconds: seconds)
            if case .failed(let why) = outcome {
                logger.error("job failed", metadata: ["request_id": .string(requestID), "error": .string(why)])
            }
        }
        var headers: HTTPHeaders = [
            "Content-Type": "application/octet-stream",
            "Content-Disposition": ContentDisposition.attachment(prepared.fileName),
            "X-Init-Seed": HeaderValue.clean(prepared.seed),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        ]
        headers["X-Request-Id"] = requestID
        return HTTPResponse(status: 200, headers: headers, body: .stream(length: prepared.contentLength, source: job))
    }

    // MARK: POST /plan

    private func plan(_ request: HTTPRequest, requestID: String) -> HTTPResponse {
        switch decode(request) {
        case .failure(let problem):
            return problem.response(requestID: requestID)
        case .success(let body):
            do throws(BackendError) {
                let report = try backend.plan(body, safetensorsHeader: request.queryValue("header") == "safetensors")
                return HTTPResponse(status: 200, headers: ["Content-Type": "application/json"],
                                    bytes: JSONCodec.serializeBytes(report))
            } catch {
                return Problem.backend(error).response(requestID: requestID)
            }
        }
    }

    // MARK: Helpers

    /// Content-Type check (415) and JSON parse with a depth bound (400 with line/column).
    private func decode(_ request: HTTPRequest) -> Result<JSONValue, Problem> {
        if let contentType = request.headers["Content-Type"], !MediaType.isJSON(contentType) {
            return .failure(.unsupportedMediaType(contentType))
        }
        do {
            return .success(try JSONCodec.parse(request.body, maxDepth: config.maxJSONDepth))
        } catch {
            return .failure(.malformedJSON(error))
        }
    }

    private func json(_ status: Int, _ object: JSONObject) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json", "Cache-Control": "no-store"],
                     bytes: JSONCodec.serializeBytes(.object(object)))
    }
}
