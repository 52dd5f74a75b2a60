import Foundation
import Logging

/// Everything the service can be told at start-up (the `serve` command maps each field to a
/// flag and a WEIGHTINIT_* environment variable).
public struct ServiceConfig: Sendable {
    public enum LogFormat: String, Sendable, CaseIterable {
        /// swift-log's default `key=value` text lines.
        case text
        /// One JSON object per line on stdout (for log shippers).
        case json
    }

    /// Address both listeners bind to.
    public var host = "127.0.0.1"
    /// Data port (POST /initialize, /plan, GET /initializers, probes). 0 = ephemeral.
    public var port = 8080
    /// Probe/metrics port (healthz, readyz, metrics) that stays responsive when every data
    /// connection is busy. 0 = ephemeral, negative = no ops listener.
    public var opsPort = 8081
    /// Threads producing checkpoint bytes at once. A stream holds one only while its next chunk is
    /// generated, so a slow reader never holds back other jobs' CPU.
    public var workers = ProcessInfo.processInfo.activeProcessorCount
    /// Which build of the random kernels the process runs ("avx2", "avx512"), for the startup log.
    public var cpuCapability: String?
    /// Jobs streaming at once (each holds 8 MiB of piece buffers until its stream ends; whole tensors only for orthogonal fills and Pretrained copies).
    public var maxStreams = 4 * ProcessInfo.processInfo.activeProcessorCount
    /// Accepted jobs waiting for a stream slot; beyond maxStreams + queueDepth requests get 503.
    public var queueDepth = 64
    /// Largest request body (413 beyond).
    public var maxBodyBytes = 8 << 20
    /// Largest checkpoint one job may produce (422 beyond).
    public var maxJobBytes: UInt64 = 64 << 30
    /// JSON nesting limit for request bodies (400 beyond).
    public var maxJSONDepth = 128
    /// Seconds a connection may sit idle (a stream waiting for its job does not count).
    public var connectionTimeout = 120
    /// TCP connections the data listener holds at once (streams included).
    public var connectionLimit = 256
    /// TCP connections one client address may hold on the data listener at once; 0 = no per-address limit
    /// (the default: behind a proxy or ingress every client shares one address). Beyond it libmicrohttpd
    /// accepts and closes the connection at once.
    public var maxConnectionsPerClient = 0
    /// Bearer tokens (`--auth-token-file`); none = no access control.
    public var accessControl = AccessControl()
    /// MHD polling threads for the data listener. Request parsing and planning run on them.
    public var httpThreads = 2
    /// Seconds in-flight streams get to finish after SIGTERM/SIGINT.
    public var shutdownGrace: Double = 30
    public var logFormat: LogFormat = .text
    public var logLevel: Logger.Level = .info
    /// Folder of async jobs' checkpoints and metadata (nil: `weightinit-jobs` in the system temp folder).
    public var spoolDirectory: String?
    /// Bytes the spool may hold, counting running and queued jobs at their full size (507 beyond).
    public var spoolMaxBytes: UInt64 = 64 << 30
    /// Seconds a finished job (and its file) is kept.
    public var jobTTL: Double = 24 * 3600

    public init() {}

    /// Human-readable problems with the values, empty when usable.
    public func validate() -> [String] {
        var problems: [String] = []
        if !(0...65535).contains(port) { problems.append("port must be 0...65535") }
        if opsPort > 65535 { problems.append("ops port must be at most 65535") }
        if port != 0 && port == opsPort { problems.append("port and ops port must differ") }
        if workers < 1 { problems.append("workers must be at least 1") }
        if maxStreams < 1 { problems.append("max streams must be at least 1") }
        if queueDepth < 0 { problems.append("queue depth must not be negative") }
        if maxBodyBytes < 1 { problems.append("max body bytes must be positive") }
        if maxJobBytes < 1 { problems.append("max job bytes must be positive") }
        if maxJSONDepth < 2 { problems.append("max JSON depth must be at least 2") }
        if connectionTimeout < 1 { problems.append("connection timeout must be at least 1 second") }
        if connectionLimit < 4 { problems.append("connection limit must be at least 4") }
        if maxConnectionsPerClient < 0 { problems.append("max connections per client must not be negative") }
        if httpThreads < 1 { problems.append("HTTP threads must be at least 1") }
        if shutdownGrace < 0 { problems.append("shutdown grace must not be negative") }
        if spoolMaxBytes < 1 { problems.append("spool max bytes must be positive") }
        if !(jobTTL > 0) { problems.append("job TTL must be positive") }
        return problems
    }
}
