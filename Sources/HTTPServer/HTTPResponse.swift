/// What a handler answers. Status and headers are committed the moment MHD queues the
/// response, before the first body byte: anything that can fail must fail before that.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Do not set Content-Length: MHD derives it from the body (or the stream length).
    public var headers: HTTPHeaders
    public var body: HTTPBody

    public init(status: Int, headers: HTTPHeaders = [:], body: HTTPBody = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(status: Int, headers: HTTPHeaders = [:], bytes: [UInt8]) {
        self.init(status: status, headers: headers, body: .bytes(bytes))
    }

    public init(status: Int, contentType: String, text: String, headers: HTTPHeaders = [:]) {
        var h = headers
        h["Content-Type"] = contentType
        self.init(status: status, headers: h, body: .bytes(Array(text.utf8)))
    }
}

public enum HTTPBody: Sendable {
    case bytes([UInt8])
    /// Exactly `length` bytes pulled from `source` off the MHD thread (Content-Length known up
    /// front). If the source fails or ends early the connection is cut (the client sees a
    /// short body); HEAD never pulls.
    case stream(length: UInt64, source: any HTTPStreamSource)
}
