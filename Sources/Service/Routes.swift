import HTTPServer

/// What each path does and which methods it takes. Unknown path → 404; known path, wrong
/// method → 405 with Allow; OPTIONS → 204 with Allow; HEAD wherever GET is allowed.
enum Endpoint: Sendable {
    case initialize, plan, initializers, healthz, readyz, metrics
    /// Async jobs (Jobs/JobsAPI.swift): POST /jobs, /jobs/{id}, /jobs/{id}/checkpoint.
    case jobs, job(String), jobCheckpoint(String)

    var methods: [String] {
        switch self {
        case .initialize, .plan, .jobs: ["POST"]
        case .initializers, .healthz, .readyz, .metrics, .jobCheckpoint: ["GET", "HEAD"]
        case .job: ["GET", "HEAD", "DELETE"]
        }
    }

    var allow: String { (methods + ["OPTIONS"]).joined(separator: ", ") }
}

/// The route table of one listener.
struct RouteTable: Sendable {
    let endpoints: [String: Endpoint]
    /// Serves /jobs/{id} and /jobs/{id}/checkpoint.
    var jobs = false

    /// The data listener serves everything, probes included.
    static let data = RouteTable(endpoints: [
        "/initialize": .initialize, "/plan": .plan, "/initializers": .initializers,
        "/healthz": .healthz, "/livez": .healthz, "/readyz": .readyz, "/metrics": .metrics,
        "/jobs": .jobs,
    ], jobs: true)

    /// The ops listener serves only probes and metrics.
    static let ops = RouteTable(endpoints: [
        "/healthz": .healthz, "/livez": .healthz, "/readyz": .readyz, "/metrics": .metrics,
    ])

    enum Decision {
        case serve(Endpoint)
        case options(allow: String, endpoint: Endpoint)
        case problem(Problem)
    }

    func route(_ request: HTTPRequest) -> Decision {
        guard let endpoint = endpoints[request.path] ?? jobEndpoint(request.path) else { return .problem(.notFound(request.path)) }
        if request.method == "OPTIONS" { return .options(allow: endpoint.allow, endpoint: endpoint) }
        guard endpoint.methods.contains(request.method) else {
            return .problem(.methodNotAllowed(request.method, allow: endpoint.allow))
        }
        return .serve(endpoint)
    }

    /// `/jobs/{id}` or `/jobs/{id}/checkpoint` (the id is checked by the job store).
    private func jobEndpoint(_ path: String) -> Endpoint? {
        guard jobs, path.hasPrefix("/jobs/") else { return nil }
        let parts = path.dropFirst(6).split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1 where !parts[0].isEmpty: return .job(String(parts[0]))
        case 2 where !parts[0].isEmpty && parts[1] == "checkpoint": return .jobCheckpoint(String(parts[0]))
        default: return nil
        }
    }
}
