/// The application behind an `HTTPServer`. Methods are called on MHD threads: they must not
/// block for long and must not trap (a trap kills the process).
public protocol HTTPHandler: AnyObject, Sendable {
    /// Answers a request whose body is complete and within `maxBodyBytes`.
    func handle(_ request: HTTPRequest) -> HTTPResponse
    /// Answers a request whose body exceeds `limit` (the body is empty in `request`).
    /// Called as soon as Content-Length says so, or after a chunked body passes the limit.
    func bodyTooLarge(_ request: HTTPRequest, limit: Int) -> HTTPResponse
    /// Called once the headers are in, before any body byte is collected: a response here (e.g. 401) is sent
    /// at once and the body is discarded unread. nil (the default) lets the request proceed.
    func respondBeforeBody(_ request: HTTPRequest) -> HTTPResponse?
    /// One call per request the server saw, when the connection is done with it (for access
    /// logs and metrics). For streams this is after the last byte or the abort.
    func exchangeCompleted(_ exchange: HTTPExchange)
}

extension HTTPHandler {
    public func bodyTooLarge(_ request: HTTPRequest, limit: Int) -> HTTPResponse {
        HTTPResponse(status: 413, contentType: "text/plain; charset=utf-8",
                     text: "request body exceeds \(limit) bytes\n")
    }
    public func exchangeCompleted(_ exchange: HTTPExchange) {}
    public func respondBeforeBody(_ request: HTTPRequest) -> HTTPResponse? { nil }
}

/// A finished request/response pair, for logging.
public struct HTTPExchange: Sendable {
    /// The request without its body.
    public var request: HTTPRequest
    public var requestBodyBytes: Int
    /// 0 if no response was ever queued (the client left during the upload).
    public var status: Int
    public var responseHeaders: HTTPHeaders
    /// Body bytes handed to the connection (0 for HEAD).
    public var bytesSent: UInt64
    /// From the first header byte to the end of the response.
    public var durationSeconds: Double
    /// True when MHD reports a clean end (and, for streams, every byte was sent).
    public var completed: Bool
    /// Set for streamed bodies.
    public var streamOutcome: HTTPStreamOutcome?
}
