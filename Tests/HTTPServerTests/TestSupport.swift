import HTTPTestSupport
import Foundation
@testable import HTTPServer

/// Byte `i` of every test stream: lets a test check content, not just length.
func patternByte(_ i: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: i % 251) }

/// A pull source of `length` pattern bytes: optionally slow, optionally failing at an offset.
final class PatternSource: HTTPStreamSource, @unchecked Sendable {
    let length: UInt64
    let delay: Double
    let failAt: UInt64?
    private let lock = NSLock()
    private var position: UInt64 = 0
    private(set) var reads = 0
    private(set) var outcome: HTTPStreamOutcome?
    private(set) var concurrentReads = 0
    private(set) var maxConcurrentReads = 0

    init(length: UInt64, delay: Double = 0, failAt: UInt64? = nil) {
        self.length = length
        self.delay = delay
        self.failAt = failAt
    }

    struct Boom: Error {}

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        lock.lock(); concurrentReads += 1; maxConcurrentReads = max(maxConcurrentReads, concurrentReads); reads += 1
        let start = position
        lock.unlock()
        defer { lock.lock(); concurrentReads -= 1; lock.unlock() }
        if delay > 0 { usleep(UInt32(delay * 1e6)) }
        if let failAt, start >= failAt { throw Boom() }
        let n = Int(min(UInt64(buffer.count), length - start))
        for k in 0..<n { buffer[k] = patternByte(start + UInt64(k)) }
        lock.lock(); position += UInt64(n); lock.unlock()
        return n
    }

    func streamEnded(_ outcome: HTTPStreamOutcome) {
        lock.lock(); self.outcome = outcome; lock.unlock()
    }

    var ended: HTTPStreamOutcome? { lock.lock(); defer { lock.unlock() }; return outcome }
    var bytesProduced: UInt64 { lock.lock(); defer { lock.unlock() }; return position }
}

/// Routes for the server tests; remembers every stream and exchange.
final class TestHandler: HTTPHandler, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var sources: [PatternSource] = []
    private(set) var exchanges: [HTTPExchange] = []

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        switch request.path {
        case "/hello":
            return HTTPResponse(status: 200, contentType: "text/plain", text: "hello\n", headers: ["X-Test": "1"])
        case "/echo":
            return HTTPResponse(status: 200, headers: ["X-Body-Count": String(request.body.count),
                                                       "X-Query": request.queryValue("q") ?? "-"],
                                bytes: request.body)
        case "/stream":
            let size = request.queryValue("size").flatMap(UInt64.init) ?? 1000
            let delay = request.queryValue("delay").flatMap(Double.init) ?? 0
            let source = PatternSource(length: size, delay: delay, failAt: request.queryValue("failAt").flatMap(UInt64.init))
            lock.lock(); sources.append(source); lock.unlock()
            return HTTPResponse(status: 200, headers: ["Content-Type": "application/octet-stream"],
                                body: .stream(length: size, source: source))
        default:
            return HTTPResponse(status: 404, contentType: "text/plain", text: "no\n")
        }
    }

    func exchangeCompleted(_ exchange: HTTPExchange) {
        lock.lock(); exchanges.append(exchange); lock.unlock()
    }

    var lastSource: PatternSource? { lock.lock(); defer { lock.unlock() }; return sources.last }
    var allExchanges: [HTTPExchange] { lock.lock(); defer { lock.unlock() }; return exchanges }
}

func startServer(_ configure: (inout HTTPServerConfig) -> Void = { _ in }) throws -> (HTTPServer, TestHandler) {
    var config = HTTPServerConfig(host: "127.0.0.1", port: 0)
    config.maxBodyBytes = 64 << 10
    configure(&config)
    let handler = TestHandler()
    let server = HTTPServer(config: config, handler: handler)
    try server.start()
    return (server, handler)
}
