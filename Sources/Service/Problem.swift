import HTTPServer
import JSON

/// An RFC 9457 problem document (`application/problem+json`). Every error the service
/// answers is one of these; `pointer` says where in the request body the problem is.
struct Problem: Error, Sendable {
    var status: Int
    /// Short slug; becomes the `type` URI (`urn:weightinit:problem:<slug>`).
    var type: String
    var title: String
    var detail: String
    var pointer: String = ""
    var extra: [(String, JSONValue)] = []
    var headers: HTTPHeaders = [:]

    func response(requestID: String) -> HTTPResponse {
        var object: JSONObject = [
            "type": .string("urn:weightinit:problem:\(type)"),
            "title": .string(title),
            "status": .int(Int64(status)),
            "detail": .string(detail),
            "pointer": .string(pointer),
            "request_id": .string(requestID),
        ]
        for (key, value) in extra { object[key] = value }
        var h = headers
        h["Content-Type"] = "application/problem+json"
        h["X-Request-Id"] = requestID
        h["Cache-Control"] = "no-store"
        return HTTPResponse(status: status, headers: h, bytes: JSONCodec.serializeBytes(.object(object)))
    }
}

extension Problem {
    static func notFound(_ path: String) -> Problem {
        Problem(status: 404, type: "not-found", title: "Not Found", detail: "no resource at \(path)")
    }

    static func methodNotAllowed(_ method: String, allow: String) -> Problem {
        Problem(status: 405, type: "method-not-allowed", title: "Method Not Allowed",
                detail: "\(method) is not allowed here; allowed: \(allow)", headers: ["Allow": allow])
    }

    static func unsupportedMediaType(_ contentType: String?) -> Problem {
        Problem(status: 415, type: "unsupported-media-type", title: "Unsupported Media Type",
                detail: "request body must be application/json, got \(contentType ?? "no Content-Type")",
                headers: ["Accept-Post": "application/json"])
    }

    static func bodyTooLarge(limit: Int) -> Problem {
        Problem(status: 413, type: "body-too-large", title: "Content Too Large",
                detail: "request body exceeds the limit of \(limit) bytes",
                extra: [("limit", .int(Int64(limit)))], headers: ["Connection": "close"])
    }

    static func malformedJSON(_ error: JSONParseError) -> Problem {
        Problem(status: 400, type: "malformed-json", title: "Malformed JSON",
                detail: "line \(error.line), column \(error.column): \(error.message)",
                extra: [("line", .int(Int64(error.line))), ("column", .int(Int64(error.column))),
                        ("position", .int(Int64(error.position)))])
    }

    static func unavailable(_ detail: String, retryAfter: Int) -> Problem {
        Problem(status: 503, type: "unavailable", title: "Service Unavailable", detail: detail,
                extra: [("retry_after", .int(Int64(retryAfter)))], headers: ["Retry-After": String(retryAfter)])
    }

    static func jobTooLarge(_ bytes: UInt64, limit: UInt64) -> Problem {
        Problem(status: 422, type: "job-too-large", title: "Job too large",
                detail: "the checkpoint would be \(bytes) bytes; the limit is \(limit) bytes",
                extra: [("job_bytes", .int(Int64(clamping: bytes))), ("limit", .int(Int64(clamping: limit)))])
    }

    /// A backend refusal. Statuses outside 4xx are mapped to 422: bad input never gets a 5xx.
    static func backend(_ error: BackendError) -> Problem {
        let status = (400...499).contains(error.status) ? error.status : 422
        return Problem(status: status, type: status == 413 ? "too-large" : "invalid-request",
                       title: error.title, detail: error.detail, pointer: error.pointer)
    }
}
