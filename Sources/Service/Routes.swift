import HTTPServer

/// What each path does and which methods it takes. Unknown path → 404; known path, wrong
/// method → 405 with Allow; OPTIONS → 204 with Allow; HEAD wherever GET is allowed.
enum Endpoint: Sendable {
    case initialize, plan, initializers, healthz, readyz, metrics

    var methods: [String] {
        switch self {
        case .initialize, .plan: ["POST"]
        case .initializers, .healthz, .readyz, .metrics: ["GET", "HEAD"]
        }
    }

    var allow: String { (methods + ["OPTIONS"]).joined(separator: ", ") }
}

/// The route table of one listener.
struct RouteTable: Sendable {
    let endpoints: [String: Endpoint]

    /// The data listener serves everything, probes included.
    static let data = RouteTable(endpoints: [
        "/initialize": .initialize, "/plan": .plan, "/initializers": .initializers,
        "/healthz": .healthz, "/livez": .healthz, "/readyz": .readyz, "/metrics": .metrics,
    ])

    /// The ops listener serves only probes and metrics.
    static let ops = RouteTable(endpoints: [
        "/healthz": .healthz, "/livez": .healthz, "/readyz": .readyz, "/metrics": .metrics,
    ])

    enum Decision {
        case serve(Endpoint)
        case options(allow: String)
        case problem(Problem)
    }

    func route(_ request: HTTPRequest) -> Decision {
        guard let endpoint = endpoints[request.path] else { return .problem(.notFound(request.path)) }
        if request.method == "OPTIONS" { return .options(allow: endpoint.allow) }
        guard endpoint.methods.contains(request.method) else {
            return .problem(.methodNotAllowed(request.method, allow: endpoint.allow))
        }
        return .serve(endpoint)
    }
}
