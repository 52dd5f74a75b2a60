import CMicroHTTPD
import CMicroHTTPDShim
import Dispatch
import Foundation

public struct HTTPServerError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// One libmicrohttpd daemon: an internal epoll thread (or a small pool) with suspend/resume,
/// calling an `HTTPHandler` for complete requests and streaming pull-source bodies.
///
/// Lifecycle: `start()` → serve → `quiesce()` (stop accepting) → `stop(grace:)` (let requests
/// in flight finish, cancel what remains, resume suspended connections, stop MHD, close the
/// listen socket: the only order that does not abort in MHD 0.9.75).
public final class HTTPServer: @unchecked Sendable {
    public let config: HTTPServerConfig
    private let handler: any HTTPHandler
    let streams = StreamRegistry()
    let pieceBuffers: PieceBufferPool

    private let lock = NSLock()
    private var daemon: OpaquePointer?
    private var quiescedFD: Int32 = -1
    private var draining = false
    private var inFlight = 0
    private var boundPort = 0

    public init(config: HTTPServerConfig, handler: any HTTPHandler) {
        self.config = config
        self.handler = handler
        let pieceBytes = max(4096, config.streamChunkBytes)
        pieceBuffers = PieceBufferPool(bufferBytes: pieceBytes, maxIdle: config.idleBufferBytes / pieceBytes)
    }

    /// The bound port (the real one when `config.port` was 0); 0 before `start()`.
    public var port: Int { lock.locked { boundPort } }
    /// Requests received and not yet completed (streams included).
    public var inFlightRequests: Int { lock.locked { inFlight } }
    /// Streamed responses still alive.
    public var activeStreams: Int { streams.count }
    /// TCP connections MHD holds (idle keep-alive and suspended ones included).
    public var currentConnections: Int {
        lock.locked { daemon.map { Int(mhd_shim_current_connections($0)) } ?? 0 }
    }
    public var isDraining: Bool { lock.locked { draining } }

    public func start() throws {
        try lock.locked {
            guard daemon == nil else { throw HTTPServerError(description: "server already started") }
            var c = mhd_shim_config()
            c.port = UInt16(clamping: config.port)
            // Internal epoll thread + suspend/resume (which also enables the ITC that quiesce needs).
            c.flags = MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_EPOLL.rawValue
                | MHD_ALLOW_SUSPEND_RESUME.rawValue | MHD_USE_ERROR_LOG.rawValue
            c.connection_timeout = UInt32(clamping: config.connectionTimeout)
            c.connection_limit = UInt32(clamping: config.connectionLimit)
            c.per_ip_connection_limit = UInt32(clamping: config.perIPConnectionLimit)
            c.connection_memory_limit = config.connectionMemoryLimit
            c.thread_pool_size = UInt32(clamping: config.threads)
            // The daemon holds `self` unretained in its callbacks; this retain keeps `self` alive
            // until `stop` has stopped the daemon.
            let me = Unmanaged.passRetained(self).toOpaque()
            c.handler = mhdAccessHandler
            c.handler_cls = me
            c.completed = mhdRequestCompleted
            c.completed_cls = me
            if config.errorLog != nil {
                c.logger = mhdErrorLog
                c.logger_cls = me
            }
            var error: UnsafePointer<CChar>?
            let d = config.host.withCString { host -> OpaquePointer? in
                c.host = host
                return mhd_shim_start(&c, &error)
            }
            guard let d else {
                Unmanaged<HTTPServer>.fromOpaque(me).release()
                let why = error.map { String(cString: $0) } ?? "unknown error"
                throw HTTPServerError(description: "cannot listen on \(config.host):\(config.port): \(why)")
            }
            daemon = d
            boundPort = Int(mhd_shim_bound_port(d))
        }
        streams.startWatchdog(interval: config.watchdogInterval)
    }

    /// Stops accepting new connections. Open connections keep being served; every response
    /// from now on carries `Connection: close` so keep-alive clients go away.
    public func quiesce() {
        lock.locked {
            draining = true
            guard let d = daemon, quiescedFD < 0 else { return }
            // The returned listen socket must stay open until after MHD_stop_daemon.
            quiescedFD = MHD_quiesce_daemon(d)
        }
    }

    /// Graceful stop: quiesce, wait up to `grace` seconds for requests in flight (streams
    /// included) to finish, cancel the rest, then stop the daemon. Blocks; idempotent.
    public func stop(grace: Double = 0) {
        quiesce()
        guard lock.locked({ daemon != nil }) else { return }
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, grace) * 1e9)
        while inFlightRequests > 0 && DispatchTime.now().uptimeNanoseconds < deadline {
            usleep(10_000)
        }
        // MHD_stop_daemon with a suspended connection aborts the process: cancel every stream
        // (the readers then return -2) and wait until MHD has picked up all the resumes.
        streams.cancelAll()
        let parkDeadline = DispatchTime.now().uptimeNanoseconds + 5_000_000_000
        while streams.parkedCount > 0 && DispatchTime.now().uptimeNanoseconds < parkDeadline {
            usleep(5_000)
        }
        let (d, fd) = lock.locked { () -> (OpaquePointer?, Int32) in
            defer { daemon = nil; quiescedFD = -1 }
            return (daemon, quiescedFD)
        }
        guard let d else { return }
        MHD_stop_daemon(d)
        if fd >= 0 { close(fd) }
        streams.stopWatchdog()
        Unmanaged.passUnretained(self).release()   // balances the retain in start()
    }

    // MARK: - Called from MHDCallbacks (MHD threads)

    func beginRequest(connection: OpaquePointer, method: String, url: String, version: String) -> RequestContext {
        let headers = connection.mhdValues(.HEADER_KIND).map { (name: $0.0, value: $0.1 ?? "") }
        let query = connection.mhdValues(.GET_ARGUMENT_KIND).map { (name: $0.0, value: $0.1) }
        lock.locked { inFlight += 1 }
        return RequestContext(request: HTTPRequest(
            method: method, path: url, query: query, headers: HTTPHeaders(headers), version: version))
    }

    /// First call: headers only. Refuses an announced oversized body before it is uploaded
    /// (MHD then closes the connection instead of reading the body; `Expect: 100-continue`
    /// clients never send it).
    func headersReceived(_ context: RequestContext, connection: OpaquePointer) -> MHD_Result {
        if let early = handler.respondBeforeBody(context.request) {
            // Like an oversized body: whatever body follows is dropped unread (and only counted).
            context.tooLarge = true
            return queue(early, for: context, on: connection)
        }
        if let declared = context.request.headers["Content-Length"].flatMap({ UInt64($0.trimmingCharacters(in: .whitespaces)) }),
           declared > UInt64(config.maxBodyBytes) {
            context.tooLarge = true
            return queue(handler.bodyTooLarge(context.request, limit: config.maxBodyBytes), for: context, on: connection)
        }
        return .YES
    }

    func continueRequest(_ context: RequestContext, connection: OpaquePointer,
                         data: UnsafePointer<CChar>?, size: UnsafeMutablePointer<Int>) -> MHD_Result {
        if size.pointee > 0 {
            // Always consume everything (0.9.75 complains or hangs otherwise); past the limit
            // the bytes are dropped and only counted.
            let n = size.pointee
            size.pointee = 0
            context.bodyBytes += n
            if context.responded || context.tooLarge { return .YES }
            if context.bodyBytes > config.maxBodyBytes {
                context.tooLarge = true
                context.request.body = []
            } else if let data {
                context.request.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: n))
            }
            return .YES
        }
        if context.responded { return .YES }
        // Body complete.
        let response = context.tooLarge
            ? handler.bodyTooLarge(context.request, limit: config.maxBodyBytes)
            : handler.handle(context.request)
        return queue(response, for: context, on: connection)
    }

    func requestCompleted(_ context: RequestContext, cleanly: Bool) {
        let outcome = context.stream?.connectionFinished(cleanly: cleanly)
        lock.locked { inFlight -= 1 }
        var request = context.request
        request.body = []
        let bytesSent: UInt64 = context.stream?.delivered ?? (context.isHead || !cleanly ? 0 : UInt64(context.fixedBodyBytes))
        handler.exchangeCompleted(HTTPExchange(
            request: request, requestBodyBytes: context.bodyBytes, status: context.status,
            responseHeaders: context.responseHeaders, bytesSent: bytesSent,
            durationSeconds: context.elapsedSeconds,
            completed: cleanly && (outcome == nil || outcome == .completed || outcome == .notStarted),
            streamOutcome: outcome))
    }

    private func queue(_ response: HTTPResponse, for context: RequestContext, on connection: OpaquePointer) -> MHD_Result {
        var headers = response.headers
        headers["Content-Length"] = nil   // MHD computes it; a second one would be wrong
        if isDraining { headers["Connection"] = "close" }

        let mhdResponse: OpaquePointer?
        switch response.body {
        case .bytes(let bytes):
            context.fixedBodyBytes = bytes.count
            mhdResponse = bytes.withUnsafeBytes { raw in
                MHD_create_response_from_buffer(raw.count, UnsafeMutableRawPointer(mutating: raw.baseAddress),
                                                .RESPMEM_MUST_COPY)
            }
        case .stream(let length, let source):
            let state = StreamState(length: length, source: source, connection: connection,
                                    pool: pieceBuffers, bufferBytes: config.streamBufferBytes,
                                    registry: streams, cancelled: streams.closing)
            let cls = Unmanaged.passRetained(state).toOpaque()
            mhdResponse = MHD_create_response_from_callback(length, max(4096, config.responseBlockBytes),
                                                            mhdStreamReader, cls, mhdStreamFree)
            if mhdResponse == nil {
                // MHD does not call the free callback when creation fails.
                Unmanaged<StreamState>.fromOpaque(cls).release()
                source.streamEnded(.failed("cannot create response"))
            } else {
                streams.add(state)
                context.stream = state
            }
        }
        guard let mhdResponse else { return .NO }
        for (name, value) in headers {
            _ = MHD_add_response_header(mhdResponse, name, value)
        }
        let result = MHD_queue_response(connection, UInt32(clamping: response.status), mhdResponse)
        MHD_destroy_response(mhdResponse)
        context.responded = true
        context.status = response.status
        context.responseHeaders = headers
        return result
    }
}
