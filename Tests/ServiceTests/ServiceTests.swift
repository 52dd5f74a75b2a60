import HTTPTestSupport
import Foundation
import JSON
import Testing
@testable import Service

// Serialized: the latency and concurrency assertions must not share 2 cores with other tests.
@Suite(.serialized) struct ServiceTests {

    @Test func initializeStreamsTheCheckpointWithItsHeaders() throws {
        let (service, backend, log) = try startService()
        defer { service.shutdown() }
        let size = 1_234_567
        let r = try rawRequest(port: service.mainPort, "POST", "/initialize",
                               headers: jsonHeaders + [("X-Request-Id", "abc-123")],
                               body: jsonBody(["size": .int(Int64(size)), "seed": "777"]))
        #expect(r.status == 200)
        #expect(r.header("Content-Length") == String(size))
        #expect(r.complete && r.body.count == size)
        #expect(r.body.enumerated().allSatisfy { $0.element == fakeByte(UInt64($0.offset)) })
        #expect(r.header("Content-Type") == "application/octet-stream")
        #expect(r.header("Content-Disposition") == "attachment; filename=\"model.safetensors\"")
        #expect(r.header("X-Init-Seed") == "777")
        #expect(r.header("X-Request-Id") == "abc-123")
        #expect(eventually { backend.liveStreams == 0 && service.jobsRunning == 0 })
        // One access-log line, with what an operator needs.
        #expect(eventually { log.requests(path: "/initialize").count == 1 })
        let line = try #require(log.requests(path: "/initialize").first)
        #expect(line["status"]?.description == "200")
        #expect(line["bytes"]?.description == String(size))
        #expect(line["request_id"]?.description == "abc-123")
        #expect(line["method"]?.description == "POST")
        #expect(line["duration_ms"] != nil)
        #expect(line["stream"]?.description == "completed")
    }

    @Test func requestIdIsGeneratedWhenMissingOrUnsafe() throws {
        let (service, _, _) = try startService()
        defer { service.shutdown() }
        let a = try rawRequest(port: service.mainPort, "GET", "/healthz")
        let b = try rawRequest(port: service.mainPort, "GET", "/healthz", headers: [("X-Request-Id", "bad id\u{7}")])
        for r in [a, b] {
            let id = try #require(r.header("X-Request-Id"))
            #expect(UUID(uuidString: id) != nil, "\(id)")
        }
    }

    @Test func planInitializersAndProbes() throws {
        let (service, _, _) = try startService()
        defer { service.shutdown() }
        let plan = try rawRequest(port: service.mainPort, "POST", "/plan", headers: jsonHeaders, body: jsonBody(["seed": "5"]))
        #expect(plan.status == 200)
        #expect(plan.header("Content-Type") == "application/json")
        #expect(try JSONCodec.parse(plan.body).objectValue?["seed"] == "5")

        let reg = try rawRequest(port: service.mainPort, "GET", "/initializers")
        #expect(reg.status == 200)
        #expect(try JSONCodec.parse(reg.body).objectValue?["modules"] == ["Linear"])
        let head = try rawRequest(port: service.mainPort, "HEAD", "/initializers")
        #expect(head.status == 200 && head.body.isEmpty)
        #expect(head.header("Content-Length") == reg.header("Content-Length"))

        for port in [service.mainPort, service.opsPort] {
            #expect(try rawRequest(port: port, "GET", "/healthz").status == 200)
            #expect(try rawRequest(port: port, "GET", "/readyz").status == 200)
            let metrics = try rawRequest(port: port, "GET", "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            #expect(metrics.text.contains("winit_build_info{version=\"test-1.0\"} 1"))
        }
        // The ops listener serves probes only.
        #expect(try rawRequest(port: service.opsPort, "POST", "/initialize", headers: jsonHeaders, body: jsonBody([:])).status == 404)
    }

    @Test func errorsAreProblemDocuments() throws {
        let (service, _, _) = try startService { $0.maxBodyBytes = 4096; $0.maxJSONDepth = 32; $0.maxJobBytes = 10_000 }
        defer { service.shutdown() }
        let port = service.mainPort

        let malformed = try rawRequest(port: port, "POST", "/initialize", headers: jsonHeaders,
                                       body: Array("{\n  \"size\": 10,\n  \"b\": [1,,2]\n}".utf8))
        #expect(malformed.status == 400)
        let p400 = try problem(malformed)
        #expect(p400["status"] == 400)
        #expect(p400["line"] == 3)
        #expect(p400["column"]?.intValue != nil)
        #expect(p400["pointer"] == "")
        #expect(p400["detail"]?.stringValue?.hasPrefix("line 3, column") == true)
        #expect(p400["type"]?.stringValue?.isEmpty == false)
        #expect(p400["title"]?.stringValue?.isEmpty == false)

        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        let tooDeep = try rawRequest(port: port, "POST", "/plan", headers: jsonHeaders, body: Array(deep.utf8))
        #expect(tooDeep.status == 400)
        _ = try problem(tooDeep)

        let oversized = try rawRequest(port: port, "POST", "/initialize", headers: jsonHeaders,
                                       body: [UInt8](repeating: 32, count: 5000))
        #expect(oversized.status == 413)
        #expect(try problem(oversized)["status"] == 413)

        let wrongType = try rawRequest(port: port, "POST", "/plan", headers: [("Content-Type", "text/plain")], body: jsonBody([:]))
        #expect(wrongType.status == 415)
        #expect(try problem(wrongType)["status"] == 415)
        let jsonWithCharset = try rawRequest(port: port, "POST", "/plan",
                                             headers: [("Content-Type", "application/json; charset=utf-8")], body: jsonBody([:]))
        #expect(jsonWithCharset.status == 200)

        let wrongMethod = try rawRequest(port: port, "GET", "/initialize")
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.header("Allow") == "POST, OPTIONS")
        #expect(try problem(wrongMethod)["status"] == 405)
        let deleteProbe = try rawRequest(port: port, "DELETE", "/healthz")
        #expect(deleteProbe.status == 405 && deleteProbe.header("Allow") == "GET, HEAD, OPTIONS")

        let options = try rawRequest(port: port, "OPTIONS", "/plan")
        #expect(options.status == 204 && options.header("Allow") == "POST, OPTIONS")

        let missing = try rawRequest(port: port, "GET", "/nope")
        #expect(missing.status == 404)
        #expect(try problem(missing)["status"] == 404)

        let rejected = try rawRequest(port: port, "POST", "/initialize", headers: jsonHeaders,
                                      body: jsonBody(["reject": "/model/children/0/type"]))
        #expect(rejected.status == 422)
        #expect(try problem(rejected)["pointer"] == "/model/children/0/type")
        let rejectedPlan = try rawRequest(port: port, "POST", "/plan", headers: jsonHeaders, body: jsonBody(["reject": "/seed"]))
        #expect(rejectedPlan.status == 422)
        #expect(try problem(rejectedPlan)["pointer"] == "/seed")

        let tooBig = try rawRequest(port: port, "POST", "/initialize", headers: jsonHeaders, body: jsonBody(["size": 20_000]))
        #expect(tooBig.status == 422)
        #expect(try problem(tooBig)["job_bytes"] == 20_000)
        #expect(service.jobsRunning == 0 && service.jobsQueued == 0)
    }

    @Test func garbageNeverGetsA5xx() throws {
        let (service, _, _) = try startService { $0.maxBodyBytes = 4096 }
        defer { service.shutdown() }
        var rng = SystemRandomNumberGenerator()
        var bodies: [[UInt8]] = [[], Array("null".utf8), Array("[]".utf8), Array("\"x\"".utf8), [0xFF, 0xFE, 0x00],
                                 Array("{\"size\": 99999999999999999999}".utf8), Array("{\"a\":1,\"a\":2}".utf8),
                                 Array("{\"size\": -5}".utf8), Array("{\"size\": \"big\"}".utf8),
                                 Array("{\"s\":\"\\u0000\"}".utf8), Array(String(repeating: "{\"a\":", count: 3000).utf8)]
        for _ in 0..<20 { bodies.append((0..<Int.random(in: 1...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }) }
        for body in bodies {
            for path in ["/initialize", "/plan"] {
                let r = try rawRequest(port: service.mainPort, "POST", path, headers: jsonHeaders, body: body)
                #expect((400...499).contains(r.status) || r.status == 200, "\(path) \(body.prefix(40)) → \(r.status)")
                if r.status != 200 { _ = try problem(r) }
            }
        }
        #expect(try rawRequest(port: service.mainPort, "GET", "/healthz").status == 200)
    }

    @Test func fullQueueAnswers503AndReadinessFails() throws {
        let (service, backend, _) = try startService { $0.maxStreams = 1; $0.queueDepth = 1 }
        defer { service.shutdown() }
        let slow = jsonBody(["size": 50_000_000, "delay": 0.05])
        var held: [RawConnection] = []
        for _ in 0..<2 {
            let c = try RawConnection(port: service.mainPort)
            try c.sendRequest("POST", "/initialize", headers: jsonHeaders, body: slow)
            #expect(try c.readHead().status == 200)
            held.append(c)
        }
        #expect(eventually { service.jobsRunning == 1 && service.jobsQueued == 1 })
        #expect(eventually { backend.streamsMade == 1 }, "the running job made its stream")
        Thread.sleep(forTimeInterval: 0.1)
        #expect(backend.streamsMade == 1, "a queued job allocates nothing")
        let refused = try rawRequest(port: service.mainPort, "POST", "/initialize", headers: jsonHeaders, body: slow)
        #expect(refused.status == 503)
        #expect(refused.header("Retry-After") == "1")
        #expect(try problem(refused)["status"] == 503)
        #expect(try rawRequest(port: service.opsPort, "GET", "/readyz").status == 503)
        #expect(try rawRequest(port: service.opsPort, "GET", "/healthz").status == 200)   // liveness is not load
        let metrics = try rawRequest(port: service.opsPort, "GET", "/metrics").text
        #expect(metricValue(metrics, "winit_jobs_running") == 1)
        #expect(metricValue(metrics, "winit_jobs_queued") == 1)

        held.removeAll()   // hang up both
        #expect(eventually { service.jobsRunning == 0 && service.jobsQueued == 0 })
        #expect(eventually { backend.liveStreams == 0 })
        #expect(try rawRequest(port: service.opsPort, "GET", "/readyz").status == 200)
    }

    @Test func aSlowReaderHoldsNoWorkerFromOtherJobs() throws {
        // One CPU worker, two stream slots: a client that stops reading must not stall the other stream.
        let (service, backend, _) = try startService { $0.workers = 1; $0.maxStreams = 2; $0.queueDepth = 0 }
        defer { service.shutdown() }
        let stalled = try RawConnection(port: service.mainPort)
        try stalled.sendRequest("POST", "/initialize", headers: jsonHeaders, body: jsonBody(["size": 64_000_000]))
        #expect(try stalled.readHead().status == 200)   // then never reads the body
        #expect(eventually { backend.streamsMade == 1 })
        let start = Date()
        let other = try rawRequest(port: service.mainPort, "POST", "/initialize", headers: jsonHeaders,
                                   body: jsonBody(["size": 4_000_000]))
        #expect(other.status == 200 && other.complete && other.body.count == 4_000_000)
        #expect(Date().timeIntervalSince(start) < 5, "the second stream finished while the first reader stalled")
        _ = stalled
    }

    @Test func queuedJobWhoseClientLeavesGivesItsPlaceBack() throws {
        let (service, backend, _) = try startService { $0.maxStreams = 1; $0.queueDepth = 1 }
        defer { service.shutdown() }
        let slow = jsonBody(["size": 50_000_000, "delay": 0.05])
        let running = try RawConnection(port: service.mainPort)
        try running.sendRequest("POST", "/initialize", headers: jsonHeaders, body: slow)
        #expect(try running.readHead().status == 200)
        do {
            let queued = try RawConnection(port: service.mainPort)
            try queued.sendRequest("POST", "/initialize", headers: jsonHeaders, body: slow)
            #expect(try queued.readHead().status == 200)
            #expect(eventually { service.jobsQueued == 1 })
        }
        // The running job keeps its worker; the queued one must not wait for it to free the place.
        #expect(eventually(timeout: 2) { service.jobsQueued == 0 })
        #expect(service.jobsRunning == 1)
        #expect(backend.streamsMade == 1)
        let again = try RawConnection(port: service.mainPort)
        try again.sendRequest("POST", "/initialize", headers: jsonHeaders, body: slow)
        #expect(try again.readHead().status == 200)
    }

    @Test func clientDisconnectCancelsTheJobAndFreesIt() throws {
        let (service, backend, log) = try startService()
        defer { service.shutdown() }
        do {
            let c = try RawConnection(port: service.mainPort)
            try c.sendRequest("POST", "/initialize", headers: jsonHeaders, body: jsonBody(["size": 900_000_000]))
            #expect(try c.readHead().status == 200)
            #expect(try c.read(count: 2_000_000).count == 2_000_000)
            #expect(service.jobsRunning == 1)
        }
        #expect(eventually { service.jobsRunning == 0 })
        #expect(eventually { backend.liveStreams == 0 }, "the byte stream was not freed")
        let metrics = try rawRequest(port: service.opsPort, "GET", "/metrics").text
        #expect(metricValue(metrics, "winit_jobs_running") == 0)
        #expect(metrics.contains("winit_jobs_total{outcome=\"client_gone\"} 1"))
        #expect(eventually { log.requests(path: "/initialize").first?["stream"]?.description == "client_gone" })
    }

    @Test func slowJobDisconnectIsNoticedWhileWaiting() throws {
        // Each chunk takes 1 s, so the connection sits suspended: only the watchdog sees the hang-up.
        let (service, backend, _) = try startService()
        defer { service.shutdown() }
        do {
            let c = try RawConnection(port: service.mainPort)
            try c.sendRequest("POST", "/initialize", headers: jsonHeaders, body: jsonBody(["size": 100_000_000, "delay": 1.0]))
            #expect(try c.readHead().status == 200)
        }
        #expect(eventually(timeout: 4) { service.jobsRunning == 0 && backend.liveStreams == 0 })
    }

    @Test func probesAnswerFastWhileDataConnectionsAreFull() throws {
        let (service, _, _) = try startService {
            $0.connectionLimit = 4
            $0.maxStreams = 4
            $0.queueDepth = 0
        }
        defer { service.shutdown() }
        var held: [RawConnection] = []
        for _ in 0..<4 {
            let c = try RawConnection(port: service.mainPort)
            try c.sendRequest("POST", "/initialize", headers: jsonHeaders, body: jsonBody(["size": 100_000_000, "delay": 0.05]))
            #expect(try c.readHead().status == 200)
            held.append(c)
        }
        // The data listener is at its connection limit: a probe there would wait in the backlog.
        #expect(throws: (any Error).self) { try rawRequest(port: service.mainPort, "GET", "/healthz", timeout: 0.3) }
        var worst = 0.0
        for path in ["/healthz", "/readyz", "/metrics", "/healthz", "/healthz", "/readyz"] {
            let t0 = Date()
            let r = try rawRequest(port: service.opsPort, "GET", path)
            worst = max(worst, Date().timeIntervalSince(t0))
            #expect(r.status == 200 || (path == "/readyz" && r.status == 503))
        }
        #expect(worst < 0.1, "slowest ops probe took \(worst) s")
        print("ops probe worst latency with 4 busy data connections: \(Int(worst * 1000)) ms")
        held.removeAll()
    }

    @Test func gracefulShutdownFinishesAnInFlightStream() throws {
        let (service, _, _) = try startService()
        let size = 4 * 262_144   // 4 chunks × 0.25 s ≈ 1 s of streaming
        let c = try RawConnection(port: service.mainPort)
        try c.sendRequest("POST", "/initialize", headers: jsonHeaders, body: jsonBody(["size": .int(Int64(size)), "delay": 0.25]))
        #expect(try c.readHead().status == 200)
        let opsPort = service.opsPort
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread { service.shutdown(); done.signal() }
        #expect(eventually { service.isDraining })
        // Probes still answer during the drain, and say "not ready".
        #expect(try rawRequest(port: opsPort, "GET", "/readyz").status == 503)
        var received = 0
        while received < size {
            let b = try c.readSome()
            if b.isEmpty { break }
            received += b.count
        }
        #expect(received == size)
        #expect(done.wait(timeout: .now() + 5) == .success)
        #expect(throws: (any Error).self) { try rawRequest(port: opsPort, "GET", "/healthz", timeout: 0.5) }
    }

    @Test func shutdownGraceCutsStreamsThatTakeTooLong() throws {
        let (service, backend, _) = try startService { $0.shutdownGrace = 0.5 }
        let c = try RawConnection(port: service.mainPort)
        try c.sendRequest("POST", "/initialize", headers: jsonHeaders, body: jsonBody(["size": 100_000_000, "delay": 0.1]))
        #expect(try c.readHead().status == 200)
        let t0 = Date()
        service.shutdown()
        #expect(Date().timeIntervalSince(t0) < 3)
        #expect(service.jobsRunning == 0 && backend.liveStreams == 0)
    }

    @Test func runReturnsAfterSIGTERM() throws {
        var config = ServiceConfig()
        config.port = 0
        config.opsPort = 0
        config.shutdownGrace = 2
        let service = WeightInitService(config: config, backend: FakeBackend()) { _ in LogCapture.Handler(capture: LogCapture()) }
        let returned = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            do { try service.run() } catch { Issue.record("run threw \(error)") }
            returned.signal()
        }
        #expect(eventually { service.mainPort > 0 })
        #expect(try rawRequest(port: service.mainPort, "GET", "/healthz").status == 200)
        kill(getpid(), SIGTERM)
        #expect(returned.wait(timeout: .now() + 5) == .success)
        #expect(service.isDraining)
    }

    @Test func jsonLogLinesAreJSON() throws {
        let lines = LinesBox()
        let logger = Logger(label: "t") { JSONLogHandler(label: $0, sink: { lines.add($0) }) }
        logger.info("request", metadata: ["status": .stringConvertible(200), "path": "/x", "ok": .stringConvertible(true)])
        let line = try #require(lines.all.first)
        let o = try #require(try JSONCodec.parse(line).objectValue)
        #expect(o["msg"] == "request" && o["level"] == "info" && o["status"] == 200 && o["path"] == "/x" && o["ok"] == true)
        #expect(!line.contains("\n"))
    }

    @Test func configValidation() {
        var c = ServiceConfig()
        #expect(c.validate().isEmpty)
        #expect(c.host == "127.0.0.1" && c.port == 8080 && c.opsPort == 8081 && c.maxBodyBytes == 8 << 20)
        c.workers = 0
        c.port = 8081
        #expect(c.validate().count == 2)
        #expect(throws: ServiceError.self) { try WeightInitService(config: c, backend: FakeBackend()).start() }
    }
}

final class LinesBox: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ s: String) { lock.withLock { lines.append(s) } }
    var all: [String] { lock.withLock { lines } }
}

import Logging
