import HTTPServer
import Logging

/// The `HTTPHandler` of one listener (data or ops): request ids, routing, access log, metrics.
final class ServiceHandler: HTTPHandler, @unchecked Sendable {
    private let routes: RouteTable
    private let endpoints: Endpoints
    private let listener: String
    private let logger: Logger
    private let metrics: ServiceMetrics

    init(routes: RouteTable, endpoints: Endpoints, listener: String, logger: Logger, metrics: ServiceMetrics) {
        self.routes = routes
        self.endpoints = endpoints
        self.listener = listener
        self.logger = logger
        self.metrics = metrics
    }

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        let requestID = RequestID.accept(request.headers["X-Request-Id"])
        var response: HTTPResponse
        switch routes.route(request) {
        case .problem(let problem):
            response = problem.response(requestID: requestID)
        case .options(let allow):
            response = HTTPResponse(status: 204, headers: ["Allow": allow])
        case .serve(let endpoint):
            response = endpoints.serve(endpoint, request, requestID: requestID)
        }
        response.headers["X-Request-Id"] = requestID
        return response
    }

    func bodyTooLarge(_ request: HTTPRequest, limit: Int) -> HTTPResponse {
        let requestID = RequestID.accept(request.headers["X-Request-Id"])
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
