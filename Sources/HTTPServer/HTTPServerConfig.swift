/// How one HTTP listener behaves. Defaults follow the research notes on libmicrohttpd 0.9.75:
/// MHD's own defaults (no timeout, 1020 connections) are wrong for a service.
public struct HTTPServerConfig: Sendable {
    /// Address to bind: numeric IPv4/IPv6 or a resolvable name.
    public var host: String = "127.0.0.1"
    /// 0 asks the kernel for a free port; `HTTPServer.port` reports it after `start()`.
    public var port: Int = 0
    /// Seconds of inactivity before MHD drops a connection (suspended streams are exempt).
    public var connectionTimeout: Int = 120
    /// Connections MHD keeps at once, suspended ones included. Beyond it new clients wait in
    /// the kernel backlog (no HTTP answer), so keep it well above the number of streams.
    public var connectionLimit: Int = 256
    /// 0 = off: probes and proxies share a few source addresses.
    public var perIPConnectionLimit: Int = 0
    /// Polling threads. 1 = one internal epoll thread; more = an MHD thread pool (the connection
    /// limit is then split across threads). Handlers run on these threads, so keep them quick.
    public var threads: Int = 1
    /// Largest request body collected; larger bodies get the handler's 413.
    public var maxBodyBytes: Int = 8 << 20
    /// Per-connection memory pool; bounds request header size.
    public var connectionMemoryLimit: Int = 256 << 10
    /// Size of a stream's piece buffers: what one pull from a stream source produces at most.
    public var streamChunkBytes: Int = 2 << 20
    /// Bytes of piece buffers a stream may fill ahead of a slow reader (at least two buffers); production pauses
    /// while they are all full.
    public var streamBufferBytes: Int = 8 << 20
    /// Bytes of piece buffers kept for later streams once theirs ended (a fresh buffer costs a page fault per 4 KiB
    /// on its first fill). Memory is bounded by the live streams' buffers plus this.
    public var idleBufferBytes: Int = 16 << 20
    /// MHD's block size for a streamed response: how much its content reader copies out of a piece at a time.
    public var responseBlockBytes: Int = 256 << 10
    /// How often suspended streams are checked for a peer that went away (MHD cannot see it).
    public var watchdogInterval: Double = 0.25
    /// Receives libmicrohttpd's own error-log lines.
    public var errorLog: (@Sendable (String) -> Void)?

    public init(host: String = "127.0.0.1", port: Int = 0) {
        self.host = host
        self.port = port
    }
}
