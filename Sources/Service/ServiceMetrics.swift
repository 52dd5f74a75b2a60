import CoreMetrics
import Foundation
import Prometheus

/// The service's metrics: recorded through the swift-metrics API, rendered by swift-prometheus.
///
/// Each service instance has its own registry and passes its factory explicitly instead of
/// bootstrapping the global `MetricsSystem`, so several instances (tests) can live in one
/// process and the executable needs no global set-up.
final class ServiceMetrics: @unchecked Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let jobsRunning: CoreMetrics.Gauge
    private let jobsQueued: CoreMetrics.Gauge
    private let streamBytes: CoreMetrics.Counter
    private let jobDuration: CoreMetrics.Timer
    private let lock = NSLock()
    private var requestCounters: [String: CoreMetrics.Counter] = [:]
    private var requestTimers: [String: CoreMetrics.Timer] = [:]
    private var jobCounters: [String: CoreMetrics.Counter] = [:]

    /// Routes used as label values; anything else is "other" (bounded cardinality).
    static let routes: Set<String> = ["/initialize", "/plan", "/initializers", "/healthz", "/livez", "/readyz", "/metrics"]

    init(version: String) {
        var f = PrometheusMetricsFactory(registry: registry)
        let seconds: [Duration] = [.milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100),
                                   .milliseconds(250), .seconds(1), .milliseconds(2500), .seconds(10),
                                   .seconds(30), .seconds(60), .seconds(300), .seconds(900)]
        f.defaultDurationHistogramBuckets = seconds
        factory = f
        jobsRunning = CoreMetrics.Gauge(label: "winit_jobs_running", factory: f)
        jobsQueued = CoreMetrics.Gauge(label: "winit_jobs_queued", factory: f)
        streamBytes = CoreMetrics.Counter(label: "winit_stream_bytes_total", factory: f)
        jobDuration = CoreMetrics.Timer(label: "winit_job_duration_seconds", factory: f)
        CoreMetrics.Gauge(label: "winit_build_info", dimensions: [("version", version)], factory: f).record(1)
        jobsRunning.record(0)
        jobsQueued.record(0)
    }

    static func routeLabel(_ path: String) -> String {
        if path == "/jobs" { return path }
        if path.hasPrefix("/jobs/") { return path.hasSuffix("/checkpoint") ? "/jobs/{id}/checkpoint" : "/jobs/{id}" }
        return routes.contains(path) ? path : "other"
    }

    func jobsChanged(running: Int, queued: Int) {
        jobsRunning.record(running)
        jobsQueued.record(queued)
    }

    func requestFinished(route: String, status: Int, seconds: Double) {
        let key = "\(route) \(status)"
        let (counter, timer) = lock.withLock { () -> (CoreMetrics.Counter, CoreMetrics.Timer) in
            let c = requestCounters[key] ?? CoreMetrics.Counter(label: "winit_http_requests_total",
                                                    dimensions: [("route", route), ("status", String(status))], factory: factory)
            requestCounters[key] = c
            let t = requestTimers[route] ?? CoreMetrics.Timer(label: "winit_http_request_duration_seconds",
                                                               dimensions: [("route", route)], factory: factory)
            requestTimers[route] = t
            return (c, t)
        }
        counter.increment()
        timer.recordSeconds(seconds)
    }

    func bytesStreamed(_ n: UInt64) {
        if n > 0 { streamBytes.increment(by: Int(clamping: n)) }
    }

    func jobEnded(outcome: String, seconds: Double?) {
        let c = lock.withLock { () -> CoreMetrics.Counter in
            let c = jobCounters[outcome] ?? CoreMetrics.Counter(label: "winit_jobs_total", dimensions: [("outcome", outcome)], factory: factory)
            jobCounters[outcome] = c
            return c
        }
        c.increment()
        if let seconds { jobDuration.recordSeconds(seconds) }
    }

    /// Prometheus text exposition format 0.0.4.
    func render() -> [UInt8] { registry.emitToBuffer() }
}
