/// One request as the handler sees it: everything copied out of MHD, body complete.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path without the query string, as MHD decoded it.
    public var path: String
    /// Query arguments in order (a key without `=` has a nil value).
    public var query: [(name: String, value: String?)]
    public var headers: HTTPHeaders
    public var body: [UInt8]
    public var version: String

    public init(method: String, path: String, query: [(name: String, value: String?)] = [],
                headers: HTTPHeaders = [:], body: [UInt8] = [], version: String = "HTTP/1.1") {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.version = version
    }

    public func queryValue(_ name: String) -> String? {
        query.first(where: { $0.name == name })?.value
    }
}
