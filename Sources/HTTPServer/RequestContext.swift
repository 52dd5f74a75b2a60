import Dispatch

/// Per-request state MHD carries in `*con_cls` from the first access-handler call to the
/// completion callback (retained there, released there).
final class RequestContext {
    var request: HTTPRequest
    let startNanos = DispatchTime.now().uptimeNanoseconds
    /// The body passed `maxBodyBytes`: keep discarding, answer 413 at the end.
    var tooLarge = false
    var bodyBytes = 0
    var responded = false
    var status = 0
    var responseHeaders: HTTPHeaders = [:]
    var fixedBodyBytes = 0
    var stream: StreamState?

    init(request: HTTPRequest) { self.request = request }

    var isHead: Bool { request.method == "HEAD" }
    var elapsedSeconds: Double { Double(DispatchTime.now().uptimeNanoseconds - startNanos) / 1e9 }
}
