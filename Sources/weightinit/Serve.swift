import ArgumentParser
import Engine
import Foundation
import Logging
import Service

/// `weightinit serve`: the HTTP service. Every option can also come from a WEIGHTINIT_*
/// environment variable (containers); a flag on the command line wins over the variable.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve POST /initialize, /plan, GET /initializers, probes and metrics over HTTP.",
        discussion: "Stops on SIGTERM/SIGINT: readiness fails, new connections are refused, streams in flight get --shutdown-grace seconds, then the process exits 0.")

    @Option(help: "Address to bind both listeners to. [env: WEIGHTINIT_HOST] (default: 127.0.0.1)")
    var host: String?
    @Option(help: "Data port; 0 picks a free one. [env: WEIGHTINIT_PORT] (default: 8080)")
    var port: Int?
    @Option(help: "Probe and metrics port (/healthz, /readyz, /metrics); --ops-port=-1 disables it. [env: WEIGHTINIT_OPS_PORT] (default: 8081)")
    var opsPort: Int?
    @Option(help: "Threads generating checkpoint data at once; a stream uses them only while producing its next chunk, and splits large fills across all of them. [env: WEIGHTINIT_WORKERS] (default: CPU count)")
    var workers: Int?
    @Option(help: CPUCapabilityOption.help)
    var cpuCapability: String?
    @Option(help: "Jobs streaming at once; each holds about 8 MiB of generated data (a whole tensor only for orthogonal fills and Pretrained copies). [env: WEIGHTINIT_MAX_STREAMS] (default: 4 x CPU count)")
    var maxStreams: Int?
    @Option(help: "Accepted jobs that may wait for a stream slot; beyond that: 503 + Retry-After. [env: WEIGHTINIT_QUEUE_DEPTH] (default: 64)")
    var queueDepth: Int?
    @Option(help: "Largest request body in bytes (413 beyond). [env: WEIGHTINIT_MAX_BODY_BYTES] (default: 8388608)")
    var maxBodyBytes: Int?
    @Option(help: "Largest checkpoint one job may produce, in bytes (422 beyond). [env: WEIGHTINIT_MAX_JOB_BYTES] (default: 68719476736)")
    var maxJobBytes: UInt64?
    @Option(help: "Deepest JSON nesting accepted in a request (400 beyond). [env: WEIGHTINIT_MAX_JSON_DEPTH] (default: 128)")
    var maxJSONDepth: Int?
    @Option(help: "Seconds an idle connection is kept. [env: WEIGHTINIT_CONNECTION_TIMEOUT] (default: 120)")
    var connectionTimeout: Int?
    @Option(help: "Connections the data port holds at once, streams included. [env: WEIGHTINIT_CONNECTION_LIMIT] (default: 256)")
    var connectionLimit: Int?
    @Option(help: "Connections one client address may hold on the data port at once; 0 = no limit (behind a proxy every client shares its address). [env: WEIGHTINIT_MAX_CONNECTIONS_PER_CLIENT] (default: 0)")
    var maxConnectionsPerClient: Int?
    @Option(help: "File of bearer tokens, one per line (several for rotation; # comments). With it every endpoint but the probes needs `Authorization: Bearer <token>` (401 otherwise). [env: WEIGHTINIT_AUTH_TOKEN_FILE] (default: none, no access control)")
    var authTokenFile: String?
    @Option(help: "With --auth-token-file: whether /metrics needs the token too (true/false). [env: WEIGHTINIT_PROTECT_METRICS] (default: false)")
    var protectMetrics: Bool?
    @Option(help: "HTTP threads of the data port (requests are parsed and planned on them). [env: WEIGHTINIT_HTTP_THREADS] (default: 2)")
    var httpThreads: Int?
    @Option(help: "Seconds streams in flight may take to finish after SIGTERM/SIGINT. [env: WEIGHTINIT_SHUTDOWN_GRACE] (default: 30)")
    var shutdownGrace: Double?
    @Option(help: "Log line format: text or json (one JSON object per line on stdout). [env: WEIGHTINIT_LOG_FORMAT] (default: text)")
    var logFormat: String?
    @Option(help: "Lowest log level: trace, debug, info, notice, warning, error, critical. [env: WEIGHTINIT_LOG_LEVEL] (default: info)")
    var logLevel: String?
    @Option(help: "Folder that Pretrained `checkpoint` paths are resolved in; without it Pretrained is refused. [env: WEIGHTINIT_CHECKPOINT_DIR]")
    var checkpointDir: String?
    @Option(help: "URL prefix Pretrained checkpoints may be downloaded from; repeatable. [env: WEIGHTINIT_ALLOW_CHECKPOINT_URL_PREFIX, comma-separated]")
    var allowCheckpointURLPrefix: [String] = []
    @Option(help: "Largest Pretrained checkpoint download, in bytes. [env: WEIGHTINIT_MAX_CHECKPOINT_DOWNLOAD_BYTES] (default: 4294967296)")
    var maxCheckpointDownloadBytes: UInt64?
    @Option(help: "Seconds one Pretrained checkpoint download may take. [env: WEIGHTINIT_CHECKPOINT_DOWNLOAD_TIMEOUT] (default: 300)")
    var checkpointDownloadTimeout: Double?
    @Option(help: "Folder of async jobs' checkpoints and metadata (POST /jobs); kept across restarts. [env: WEIGHTINIT_SPOOL_DIR] (default: weightinit-jobs in the system temp folder)")
    var spoolDir: String?
    @Option(help: "Bytes the spool may hold, running and queued jobs counted at full size (507 beyond). [env: WEIGHTINIT_SPOOL_MAX_BYTES] (default: 68719476736)")
    var spoolMaxBytes: UInt64?
    @Option(help: "Seconds a finished job and its checkpoint are kept. [env: WEIGHTINIT_JOB_TTL] (default: 86400)")
    var jobTTL: Double?

    func run() throws {
        #if os(Linux)
        // Chunk and stream buffers (MiBs each) come straight from mmap and go back to the system when a stream ends:
        // a fixed threshold stops glibc from raising it after the first free and keeping them in its heaps, which
        // left the server's RSS at its peak after load. (malloc.h is not in Swift's Glibc module.)
        _ = glibcMallopt(-3 /* M_MMAP_THRESHOLD */, 256 << 10)
        #endif
        var c = ServiceConfig()
        c.host = try value(host, "WEIGHTINIT_HOST") { $0 } ?? c.host
        c.port = try value(port, "WEIGHTINIT_PORT", Int.init) ?? c.port
        c.opsPort = try value(opsPort, "WEIGHTINIT_OPS_PORT", Int.init) ?? c.opsPort
        c.workers = try value(workers, "WEIGHTINIT_WORKERS", Int.init) ?? c.workers
        c.maxStreams = try value(maxStreams, "WEIGHTINIT_MAX_STREAMS", Int.init) ?? c.maxStreams
        c.queueDepth = try value(queueDepth, "WEIGHTINIT_QUEUE_DEPTH", Int.init) ?? c.queueDepth
        c.maxBodyBytes = try value(maxBodyBytes, "WEIGHTINIT_MAX_BODY_BYTES", Int.init) ?? c.maxBodyBytes
        c.maxJobBytes = try value(maxJobBytes, "WEIGHTINIT_MAX_JOB_BYTES", UInt64.init) ?? c.maxJobBytes
        c.maxJSONDepth = try value(maxJSONDepth, "WEIGHTINIT_MAX_JSON_DEPTH", Int.init) ?? c.maxJSONDepth
        c.connectionTimeout = try value(connectionTimeout, "WEIGHTINIT_CONNECTION_TIMEOUT", Int.init) ?? c.connectionTimeout
        c.connectionLimit = try value(connectionLimit, "WEIGHTINIT_CONNECTION_LIMIT", Int.init) ?? c.connectionLimit
        c.maxConnectionsPerClient = try value(maxConnectionsPerClient, "WEIGHTINIT_MAX_CONNECTIONS_PER_CLIENT", Int.init)
            ?? c.maxConnectionsPerClient
        let protect = try value(protectMetrics, "WEIGHTINIT_PROTECT_METRICS") { Bool($0.lowercased()) } ?? false
        if let file = try value(authTokenFile, "WEIGHTINIT_AUTH_TOKEN_FILE", { $0 }) {
            do throws(AccessControl.FileError) {
                c.accessControl = AccessControl(tokens: try AccessControl.load(tokenFile: file), protectMetrics: protect)
            } catch {
                throw ValidationError(error.description)
            }
        } else if protect {
            throw ValidationError("--protect-metrics needs --auth-token-file")
        }
        c.httpThreads = try value(httpThreads, "WEIGHTINIT_HTTP_THREADS", Int.init) ?? c.httpThreads
        c.shutdownGrace = try value(shutdownGrace, "WEIGHTINIT_SHUTDOWN_GRACE", Double.init) ?? c.shutdownGrace
        c.logFormat = try value(logFormat.map { ServiceConfig.LogFormat(rawValue: $0.lowercased()) }, "WEIGHTINIT_LOG_FORMAT",
                                { ServiceConfig.LogFormat(rawValue: $0.lowercased()) }, flagName: "--log-format") ?? c.logFormat
        c.logLevel = try value(logLevel.map { Logger.Level(rawValue: $0.lowercased()) }, "WEIGHTINIT_LOG_LEVEL",
                               { Logger.Level(rawValue: $0.lowercased()) }, flagName: "--log-level") ?? c.logLevel
        c.spoolDirectory = try value(spoolDir, "WEIGHTINIT_SPOOL_DIR") { $0 } ?? c.spoolDirectory
        c.spoolMaxBytes = try value(spoolMaxBytes, "WEIGHTINIT_SPOOL_MAX_BYTES", UInt64.init) ?? c.spoolMaxBytes
        c.jobTTL = try value(jobTTL, "WEIGHTINIT_JOB_TTL", Double.init) ?? c.jobTTL
        let problems = c.validate()
        guard problems.isEmpty else { throw ValidationError(problems.joined(separator: "; ")) }

        let env = ProcessInfo.processInfo.environment
        let checkpointDir = self.checkpointDir ?? env["WEIGHTINIT_CHECKPOINT_DIR"].flatMap { $0.isEmpty ? nil : $0 }
        let prefixes = !allowCheckpointURLPrefix.isEmpty ? allowCheckpointURLPrefix
            : (env["WEIGHTINIT_ALLOW_CHECKPOINT_URL_PREFIX"] ?? "").split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }

        var options = EngineOptions(maxJobBytes: c.maxJobBytes, checkpointDirectory: checkpointDir, allowedCheckpointURLPrefixes: prefixes)
        options.maxCheckpointDownloadBytes = try value(maxCheckpointDownloadBytes, "WEIGHTINIT_MAX_CHECKPOINT_DOWNLOAD_BYTES", UInt64.init)
            ?? options.maxCheckpointDownloadBytes
        options.checkpointDownloadTimeout = try value(checkpointDownloadTimeout, "WEIGHTINIT_CHECKPOINT_DOWNLOAD_TIMEOUT", Double.init)
            ?? options.checkpointDownloadTimeout
        guard options.checkpointDownloadTimeout > 0 else { throw ValidationError("the checkpoint download timeout must be positive") }
        GenerationThreads.count = c.workers  // one request's large fills use all of them
        c.cpuCapability = try CPUCapabilityOption.install(cpuCapability)
        let backend = EngineBackend(options: options)
        try WeightInitService(config: c, backend: backend).run()
    }

    /// The flag if given, else the environment variable parsed with `parse`, else nil.
    private func value<T>(_ flag: T?, _ variable: String, _ parse: (String) -> T?) throws -> T? {
        if let flag { return flag }
        guard let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty else { return nil }
        guard let parsed = parse(text.trimmingCharacters(in: .whitespaces)) else {
            throw ValidationError("\(variable)=\(text) is not a valid value")
        }
        return parsed
    }

    /// Same, for flags that are parsed from a string here (an invalid flag value is an error too).
    private func value<T>(_ flag: T??, _ variable: String, _ parse: (String) -> T?, flagName: String) throws -> T? {
        if let flag {
            guard let flag else { throw ValidationError("invalid value for \(flagName)") }
            return flag
        }
        return try value(nil as T?, variable, parse)
    }
}

#if os(Linux)
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
