import HTTPServer
import Logging

/// The `HTTPHandler` of one listener (data or ops): request ids, routing, access log, metrics.
final class ServiceHandler: HTTPHandler, @unchecked Sendable {
    private let routes: RouteTable
    private let endpoints: Endpoints
    private let listener: String
    private let logger: Logger
    private let metrics: ServiceMetrics
    private let access: AccessControl

    init(routes: RouteTable, endpoints: Endpoints, listener: String, logger: Logger, metrics: ServiceMetrics,
         access: AccessControl = AccessControl()) {
        self.routes = routes
        self.access = access
        self.endpoints = endpoints
        self.listener = listener
        self.logger = logger
        self.metrics = metrics
    }

    /// The 401 for a request without a valid token, nil when it may proceed.
    private func refusal(_ request: HTTPRequest, requestID: String) -> HTTPResponse? {
        let verdict = access.check(request.headers, endpoint: routes.endpoints[request.path])
        guard verdict != .allowed else { return nil }
        return Problem.unauthorized(verdict).response(requestID: requestID)
    }

    /// Refuses an unauthenticated request from its headers alone, so its body is never collected.
    func respondBeforeBody(_ request: HTTPRequest) -> HTTPResponse? {
        let requestID = RequestID.accept(request.headers["X-Request-Id"])
        guard var response = refusal(request, requestID: requestID) else { return nil }
        // The body (if any) is not read: the connection cannot be reused.
        response.headers["Connection"] = "close"
        return response
    }

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        let requestID = RequestID.accept(request.headers["X-Request-Id"])
        if let response = refusal(request, requestID: requestID) { return response }
        var response: HTTPResponse
        switch routes.route(request) {
        case .problem(let problem):
            response = problem.response(requestID: requestID)
        case .options(let allow, let endpoint):
            // A job that does not exist (or was deleted) has no methods either.
            if let problem = endpoints.missingJob(endpoint) {
                response = problem.response(requestID: requestID)
            } else {
                response = HTTPResponse(status: 204, headers: ["Allow": allow])
            }
        case .serve(let endpoint):
            response = endpoints.serve(endpoint, request, requestID: requestID)
        }
        response.headers["X-Request-Id"] = requestID
        return response
    }

    func bodyTooLarge(_ request: HTTPRequest, limit: Int) -> HTTPResponse {
        let requestID = RequestID.accept(request.headers["X-Request-Id"])
        if let response = refusal(request, requestID: requestID) { return response }
        // Routing errors win over size: a huge body to a wrong path is still a 404/405.
        if case .problem(let problem) = routes.route(request) { return problem.response(requestID: requestID) }
        return Problem.bodyTooLarge(limit: limit).response(requestID: requestID)
    }

    /// The access log line and the request metrics, once the response is fully sent (or cut).
    func exchangeCompleted(_ exchange: HTTPExchange) {
        // 499 (nginx's "client closed request") when the client left before any response.
        let status = exchange.status == 0 ? 499 : exchange.status
        let route = ServiceMetrics.routeLabel(exchange.request.path)
        metrics.requestFinished(route: route, status: status, seconds: exchange.durationSeconds)
        if exchange.streamOutcome != nil { metrics.bytesStreamed(exchange.bytesSent) }

        var metadata: Logger.Metadata = [
            "method": .string(exchange.request.method),
            "path": .string(exchange.request.path),
            "status": .stringConvertible(status),
            "bytes": .stringConvertible(Int(clamping: exchange.bytesSent)),
            "duration_ms": .stringConvertible((exchange.durationSeconds * 1e6).rounded() / 1e3),
            "request_id": .string(exchange.responseHeaders["X-Request-Id"] ?? "-"),
            "listener": .string(listener),
        ]
        if let outcome = exchange.streamOutcome { metadata["stream"] = .string(outcome.label) }
        logger.info("request", metadata: metadata)
    }
}

extension HTTPStreamOutcome {
    /// Low-cardinality label for logs and metrics.
    var label: String {
        switch self {
        case .completed: "completed"
        case .clientGone: "client_gone"
        case .shutdown: "shutdown"
        case .failed: "failed"
        case .notStarted: "not_started"
        }
    }
}
