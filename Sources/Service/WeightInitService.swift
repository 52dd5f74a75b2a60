import Dispatch
import Foundation
import HTTPServer
import Logging

public struct ServiceError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// The weight-initialization HTTP service: a data listener and an ops listener (probes and
/// metrics that stay responsive while every data connection is busy), a bounded job queue,
/// access logs and Prometheus metrics.
///
/// Tests: `start()` on ephemeral ports (port 0), then `mainPort`/`opsPort`, then `shutdown()`.
/// The executable: `run()`, which blocks until SIGTERM/SIGINT and returns after draining.
public final class WeightInitService: @unchecked Sendable {
    public let config: ServiceConfig
    private let backend: any InitializationBackend
    private let logger: Logger
    private let metrics: ServiceMetrics
    private let jobs: JobQueue
    /// Async jobs' spool (Jobs/JobStore.swift); read back from disk at init.
    private let jobStore: JobStore

    private let lock = NSCondition()
    private var main: HTTPServer?
    private var ops: HTTPServer?
    private var draining = false
    private var phase = Phase.idle
    private enum Phase { case idle, running, stopping, stopped }

    /// `logHandler` overrides the handler chosen by `config.logFormat` (tests capture lines).
    public init(config: ServiceConfig, backend: any InitializationBackend,
                logHandler: (@Sendable (String) -> any LogHandler)? = nil) {
        self.config = config
        self.backend = backend
        let format = config.logFormat
        let factory: @Sendable (String) -> any LogHandler = logHandler ?? { label in
            format == .json ? JSONLogHandler(label: label) as any LogHandler : StreamLogHandler.standardOutput(label: label)
        }
        // An explicit factory instead of LoggingSystem.bootstrap: several services may share a
        // process (tests), and the executable needs no global set-up.
        var logger = Logger(label: "weightinit", factory: factory)
        logger.logLevel = config.logLevel
        self.logger = logger
        let metrics = ServiceMetrics(version: backend.version)
        self.metrics = metrics
        jobs = JobQueue(workers: config.maxStreams, depth: config.queueDepth, cpuWorkers: config.workers) { running, queued in
            metrics.jobsChanged(running: running, queued: queued)
        }
        jobStore = JobStore(directory: config.spoolDirectory, maxBytes: config.spoolMaxBytes, ttl: config.jobTTL, logger: logger)
    }

    /// The bound data port (the real one when configured as 0); 0 before start.
    public var mainPort: Int { lock.withLock { main?.port ?? 0 } }
    /// The bound ops port; 0 before start or without an ops listener.
    public var opsPort: Int { lock.withLock { ops?.port ?? 0 } }
    public var isDraining: Bool { lock.withLock { draining } }
    public var jobsRunning: Int { jobs.runningCount }
    public var jobsQueued: Int { jobs.queuedCount }

    // MARK: Lifecycle

    /// Binds both listeners and starts serving. Throws on a bad config or a busy port.
    public func start() throws {
        let problems = config.validate()
        guard problems.isEmpty else { throw ServiceError(description: "invalid configuration: " + problems.joined(separator: "; ")) }
        try lock.withLock {
            guard phase == .idle else { throw ServiceError(description: "service already started") }
            let isDraining: @Sendable () -> Bool = { [weak self] in self?.isDraining ?? true }
            let jobsAPI = JobsAPI(store: jobStore, backend: backend, queue: jobs, maxJobBytes: config.maxJobBytes,
                                  metrics: metrics, logger: logger, isDraining: isDraining)
            let endpoints = Endpoints(config: config, backend: backend, jobs: jobs, metrics: metrics, logger: logger,
                                      isDraining: isDraining, jobsAPI: jobsAPI)
            let mainServer = HTTPServer(config: httpConfig(port: config.port, data: true), handler: ServiceHandler(
                routes: .data, endpoints: endpoints, listener: "data", logger: logger, metrics: metrics,
                access: config.accessControl))
            try mainServer.start()
            var opsServer: HTTPServer?
            if config.opsPort >= 0 {
                let server = HTTPServer(config: httpConfig(port: config.opsPort, data: false), handler: ServiceHandler(
                    routes: .ops, endpoints: endpoints, listener: "ops", logger: logger, metrics: metrics,
                    access: config.accessControl))
                do { try server.start() } catch {
                    mainServer.stop()
                    throw error
                }
                opsServer = server
            }
            main = mainServer
            ops = opsServer
            phase = .running
        }
        jobStore.startSweeping()
        if let reason = jobStore.unavailableReason { logger.warning("async jobs disabled", metadata: ["reason": .string(reason)]) }
        logger.info("listening", metadata: [
            "host": .string(config.host), "port": .stringConvertible(mainPort), "ops_port": .stringConvertible(opsPort),
            "workers": .stringConvertible(config.workers), "max_streams": .stringConvertible(jobs.workers), "queue_depth": .stringConvertible(jobs.depth),
            "version": .string(backend.version), "cpu_capability": .string(config.cpuCapability ?? "-"),
            "auth": .string(config.accessControl.isEnabled ? "bearer (\(config.accessControl.tokens.count) tokens)" : "off"),
        ])
    }

    /// Starts, blocks until SIGTERM or SIGINT (or `shutdown()` from elsewhere), drains, returns.
    /// A second signal during the drain exits at once with status 1.
    public func run() throws {
        let stopRequested = DispatchSemaphore(value: 0)
        let signals = SignalWatcher(signals: [SIGTERM, SIGINT]) { [logger] signal, count in
            if count == 1 {
                logger.info("signal received, draining", metadata: ["signal": .stringConvertible(Int(signal))])
                stopRequested.signal()
            } else {
                logger.warning("second signal, exiting without draining")
                exit(1)
            }
        }
        defer { signals.cancel() }
        try start()
        onStopped { stopRequested.signal() }
        stopRequested.wait()
        shutdown()
    }

    /// Graceful stop: readiness fails at once, the data listener stops accepting, in-flight
    /// streams get `shutdownGrace` seconds, the rest are cut; the ops listener goes last so
    /// probes see the drain. Blocks until done; safe to call more than once and from any thread.
    public func shutdown() {
        lock.lock()
        switch phase {
        case .idle:
            phase = .stopped
            lock.broadcast()
            lock.unlock()
            return
        case .stopping:
            while phase != .stopped { lock.wait() }
            lock.unlock()
            return
        case .stopped:
            lock.unlock()
            return
        case .running:
            phase = .stopping
            draining = true
        }
        let (mainServer, opsServer) = (main, ops)
        lock.unlock()

        logger.info("draining", metadata: ["in_flight": .stringConvertible(mainServer?.inFlightRequests ?? 0),
                                           "grace_seconds": .stringConvertible(config.shutdownGrace)])
        mainServer?.stop(grace: config.shutdownGrace)
        // Async jobs still writing stop now; they are `failed` in the spool, as after a crash.
        jobStore.stopSweeping()
        jobStore.stopAll(reason: "interrupted: the server shut down before the job finished")
        // Cut streams end once their producer finishes the chunk it is on.
        let deadline = Date().addingTimeInterval(10)
        while jobs.admittedCount > 0 && Date() < deadline { usleep(10_000) }
        opsServer?.stop(grace: 1)
        jobStore.relinquish()
        logger.info("stopped", metadata: ["jobs_left": .stringConvertible(jobs.admittedCount)])

        lock.lock()
        phase = .stopped
        let callbacks = stopCallbacks
        stopCallbacks = []
        lock.broadcast()
        lock.unlock()
        callbacks.forEach { $0() }
    }

    private var stopCallbacks: [() -> Void] = []

    /// Runs `body` once the service has stopped (at once if it already has).
    private func onStopped(_ body: @escaping () -> Void) {
        let now: Bool = lock.withLock {
            if phase == .stopped { return true }
            stopCallbacks.append(body)
            return false
        }
        if now { body() }
    }

    private func httpConfig(port: Int, data: Bool) -> HTTPServerConfig {
        var c = HTTPServerConfig(host: config.host, port: port)
        c.connectionTimeout = config.connectionTimeout
        c.maxBodyBytes = data ? config.maxBodyBytes : 64 << 10
        c.connectionLimit = data ? config.connectionLimit : 64
        // The ops port serves probes from a few kubelet/Prometheus addresses: no per-address limit there.
        c.perIPConnectionLimit = data ? config.maxConnectionsPerClient : 0
        c.threads = data ? config.httpThreads : 1
        let logger = self.logger
        c.errorLog = { line in
            // MHD reports every cut stream ("Closing connection ..."); only limits are news.
            if line.contains("limit") {
                logger.warning("libmicrohttpd", metadata: ["message": .string(line)])
            } else {
                logger.debug("libmicrohttpd", metadata: ["message": .string(line)])
            }
        }
        return c
    }
}
