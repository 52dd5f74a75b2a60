import HTTPTestSupport
import Foundation
import JSON
import Logging
import Testing
@testable import Service

/// A service with the tensor fake backend and its own spool folder.
func startJobService(spool: URL? = nil, _ configure: (inout ServiceConfig) -> Void = { _ in })
    throws -> (WeightInitService, TensorFakeBackend, URL) {
    let dir = spool ?? FileManager.default.temporaryDirectory.appendingPathComponent("wi-jobs-\(UUID().uuidString)")
    var config = ServiceConfig()
    config.port = 0
    config.opsPort = -1
    config.maxStreams = 2
    config.queueDepth = 2
    config.shutdownGrace = 2
    config.spoolDirectory = dir.path
    configure(&config)
    let backend = TensorFakeBackend()
    let capture = LogCapture()
    let service = WeightInitService(config: config, backend: backend) { _ in LogCapture.Handler(capture: capture) }
    try service.start()
    return (service, backend, dir)
}

func postJob(_ port: Int, _ body: JSONValue, key: String? = nil, headers: [(String, String)] = jsonHeaders) throws -> RawResponse {
    try rawRequest(port: port, "POST", "/jobs", headers: headers + (key.map { [("Idempotency-Key", $0)] } ?? []), body: jsonBody(body))
}

func jobDocument(_ port: Int, _ id: String) throws -> JSONObject {
    let r = try rawRequest(port: port, "GET", "/jobs/\(id)")
    try #require(r.status == 200, "GET /jobs/\(id): \(r.status) \(r.text)")
    return try #require(try JSONCodec.parse(r.body).objectValue)
}

func jobID(_ r: RawResponse) throws -> String {
    try #require(try JSONCodec.parse(r.body).objectValue?["id"]?.stringValue, "\(r.status) \(r.text)")
}

/// Polls the job until `state` (or any finished state when nil), at most `timeout` seconds.
func waitForJob(_ port: Int, _ id: String, state: String? = nil, timeout: Double = 10) throws -> JSONObject {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        let doc = try jobDocument(port, id)
        let s = doc["state"]?.stringValue ?? ""
        if state.map({ s == $0 }) ?? ["done", "failed", "cancelled"].contains(s) { return doc }
        guard Date() < deadline else { throw RawClientError(description: "job \(id) still \(s) after \(timeout) s") }
        usleep(20_000)
    }
}

func sha256Hex(_ bytes: [UInt8]) -> String {
    var h = SHA256()
    h.update(bytes)
    return h.hexDigest()
}

let toyTensors: JSONValue = [
    "tensors": [
        ["name": "conv.weight", "dtype": "float32", "values": [0.5, -0.25, 1.5, 2.0, -1.0]],
        ["name": "conv.bias", "dtype": "float32", "values": [0, 0, 0]],
        ["name": "fc.weight", "dtype": "float32", "count": 3000],
        ["name": "bn.running_mean", "dtype": "float64", "values": [1.25, 1.25]],
    ],
    "chunk": 333,
]

// Nested in ServiceTests (serialized), so these never share the 2 cores with its latency assertions.
extension ServiceTests { @Suite(.serialized, .timeLimit(.minutes(2))) struct JobsTests {

    @Test func sha256MatchesKnownDigestsInAnyPieces() {
        #expect(sha256Hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let text = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(sha256Hex(text) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        var h = SHA256()
        var i = 0, step = 1
        while i < million.count {  // pieces of 1, 2, 3, … bytes: every block-boundary case
            let j = min(million.count, i + step)
            million[i..<j].withUnsafeBytes { h.update($0) }
            i = j
            step = step % 131 + 1
        }
        #expect(h.hexDigest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func statisticsDecodeEveryDtypeAcrossPieceBoundaries() throws {
        let values: [Double] = [0.5, -2, 3.25, 0, 1, -0.125, 7]
        let n = Double(values.count), mean = values.reduce(0, +) / n
        let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (n - 1)).squareRoot()
        for dtype in ["float32", "float16", "bfloat16", "float64"] {
            let (layout, _) = try TensorFakeBackend.layout(["header": 0, "tensors": [["name": "t", "dtype": .string(dtype), "values": .array(values.map { .double($0) })]]])
            var s = try #require(TensorStatistics(dtype: dtype))
            for k in stride(from: 0, to: layout.bytes.count, by: 3) {   // 3-byte pieces split every element
                layout.bytes[k..<min(k + 3, layout.bytes.count)].withUnsafeBytes { s.update($0) }
            }
            #expect(s.count == 7, "\(dtype)")
            #expect(abs(s.mean! - mean) < 1e-12, "\(dtype)")
            #expect(abs(s.std! - std) < 1e-12, "\(dtype)")
            #expect(s.min == -2 && s.max == 7, "\(dtype)")
        }
        for (dtype, vals, expected) in [("int64", [3.0, -5, 10], (8.0 / 3, -5.0, 10.0)), ("int32", [1.0, 2, 3], (2.0, 1.0, 3.0)),
                                        ("bool", [1.0, 0, 1, 1], (0.75, 0.0, 1.0))] {
            let (layout, _) = try TensorFakeBackend.layout(["header": 0, "tensors": [["name": "t", "dtype": .string(dtype), "values": .array(vals.map { .double($0) })]]])
            var s = try #require(TensorStatistics(dtype: dtype))
            layout.bytes.withUnsafeBytes { s.update($0) }
            #expect(abs(s.mean! - expected.0) < 1e-12 && s.min == expected.1 && s.max == expected.2, "\(dtype)")
        }
        // Half precision: subnormals, infinity and NaN.
        #expect(TensorStatistics.half(0x0001) == 0x1p-24)
        #expect(TensorStatistics.half(0x3c00) == 1 && TensorStatistics.half(0xc000) == -2)
        #expect(TensorStatistics.half(0x7c00) == .infinity && TensorStatistics.half(0x7e00).isNaN)
        var s = try #require(TensorStatistics(dtype: "float32"))
        [Float.nan, 1, 3, .infinity].withUnsafeBytes { s.update($0) }
        #expect(s.count == 2 && s.nonFinite == 2 && s.mean == 2)
        var one = try #require(TensorStatistics(dtype: "float32"))
        [Float(4)].withUnsafeBytes { one.update($0) }
        #expect(one.std == nil && one.json.objectValue?["std"] == .null)
    }

    @Test func rangeHeaderParsing() {
        #expect(ByteRangeRequest.parse(nil, size: 100) == .whole)
        #expect(ByteRangeRequest.parse("bytes=0-9", size: 100) == .partial(0...9))
        #expect(ByteRangeRequest.parse("bytes=90-", size: 100) == .partial(90...99))
        #expect(ByteRangeRequest.parse("bytes=-10", size: 100) == .partial(90...99))
        #expect(ByteRangeRequest.parse("bytes=-1000", size: 100) == .partial(0...99))
        #expect(ByteRangeRequest.parse("bytes=50-5000", size: 100) == .partial(50...99))
        #expect(ByteRangeRequest.parse("bytes=100-", size: 100) == .unsatisfiable)
        #expect(ByteRangeRequest.parse("bytes=-0", size: 100) == .unsatisfiable)
        #expect(ByteRangeRequest.parse("bytes=0-1,5-6", size: 100) == .whole)
        #expect(ByteRangeRequest.parse("bytes=9-3", size: 100) == .whole)
        #expect(ByteRangeRequest.parse("items=0-3", size: 100) == .whole)
        #expect(ByteRangeRequest.parse("bytes=x-3", size: 100) == .whole)
        #expect(EntityTag.matches("\"a\", \"b\"", "\"b\"") && EntityTag.matches("*", "\"b\"") && EntityTag.matches("W/\"b\"", "\"b\""))
        #expect(!EntityTag.matches("\"a\"", "\"b\"") && !EntityTag.matches(nil, "\"b\""))
    }

    @Test func jobRunsToDoneWithHashesStatisticsAndTheStreamedBytes() throws {
        let (service, _, _) = try startJobService()
        defer { service.shutdown() }
        let port = service.mainPort
        let created = try postJob(port, toyTensors)
        #expect(created.status == 202)
        let id = try jobID(created)
        #expect(created.header("Location") == "/jobs/\(id)")
        #expect(created.header("Content-Type") == "application/json")
        let first = try JSONCodec.parse(created.body).objectValue!
        #expect(["queued", "running", "done"].contains(first["state"]?.stringValue ?? ""))

        let doc = try waitForJob(port, id, state: "done")
        let streamed = try rawRequest(port: port, "POST", "/initialize", headers: jsonHeaders, body: jsonBody(toyTensors))
        #expect(streamed.status == 200)
        let progress = try #require(doc["progress"]?.objectValue)
        #expect(progress["bytes_total"] == .int(Int64(streamed.body.count)))
        #expect(progress["bytes_done"] == progress["bytes_total"])
        #expect(progress["tensors_done"] == 4 && progress["tensors_total"] == 4)
        #expect(doc["sha256"] == .string(sha256Hex(streamed.body)))
        #expect(doc["links"]?.objectValue?["checkpoint"] == .string("/jobs/\(id)/checkpoint"))

        let tensorList = doc["report"]?.objectValue?["tensors"]?.arrayValue ?? []
        let tensors = tensorList.compactMap { $0.objectValue }
        #expect(tensors.count == 4)
        for t in tensors {
            let range = (t["byte_range"]?.arrayValue ?? []).compactMap { $0.intValue }
            try #require(range.count == 2)
            #expect(t["sha256"] == .string(sha256Hex(Array(streamed.body[Int(range[0])..<Int(range[1])]))), "\(t)")
        }
        let conv = try #require(tensors[0]["stats"]?.objectValue)
        #expect(conv["mean"]?.numberValue.map { abs($0 - 0.55) < 1e-12 } == true)
        #expect(conv["min"] == .double(-1) && conv["max"] == .double(2) && conv["count"] == 5)
        let expectedStd = ([0.5, -0.25, 1.5, 2.0, -1.0].map { ($0 - 0.55) * ($0 - 0.55) }.reduce(0, +) / 4).squareRoot()
        #expect(conv["std"]?.numberValue.map { abs($0 - expectedStd) < 1e-12 } == true)
        #expect(tensors[1]["stats"]?.objectValue?["std"] == .double(0))
        #expect(tensors[3]["stats"]?.objectValue?["mean"] == .double(1.25))

        // The file, fetched twice, is the /initialize stream byte for byte; same headers as /initialize.
        for _ in 0..<2 {
            let r = try rawRequest(port: port, "GET", "/jobs/\(id)/checkpoint")
            #expect(r.status == 200 && r.complete)
            #expect(r.body == streamed.body)
            #expect(r.header("Content-Type") == streamed.header("Content-Type"))
            #expect(r.header("Content-Disposition") == streamed.header("Content-Disposition"))
            #expect(r.header("X-Init-Seed") == "7")
            #expect(r.header("Accept-Ranges") == "bytes")
            #expect(r.header("ETag") == "\"\(sha256Hex(streamed.body))\"")
        }
    }

    @Test func rangesConditionalRequestsAndHead() throws {
        let (service, _, _) = try startJobService()
        defer { service.shutdown() }
        let port = service.mainPort
        let id = try jobID(try postJob(port, toyTensors))
        _ = try waitForJob(port, id, state: "done")
        let full = try rawRequest(port: port, "GET", "/jobs/\(id)/checkpoint")
        let size = full.body.count
        let etag = try #require(full.header("ETag"))
        let path = "/jobs/\(id)/checkpoint"

        let mid = try rawRequest(port: port, "GET", path, headers: [("Range", "bytes=10-109")])
        #expect(mid.status == 206)
        #expect(mid.header("Content-Range") == "bytes 10-109/\(size)")
        #expect(mid.header("Content-Length") == "100")
        #expect(mid.body == Array(full.body[10..<110]))
        #expect(mid.header("ETag") == etag)

        let suffix = try rawRequest(port: port, "GET", path, headers: [("Range", "bytes=-7")])
        #expect(suffix.status == 206 && suffix.body == Array(full.body.suffix(7)))
        let open = try rawRequest(port: port, "GET", path, headers: [("Range", "bytes=\(size - 3)-")])
        #expect(open.status == 206 && open.body == Array(full.body.suffix(3)))
        // Reassembling ranges gives the file.
        var joined: [UInt8] = []
        var at = 0
        while at < size {
            let r = try rawRequest(port: port, "GET", path, headers: [("Range", "bytes=\(at)-\(at + 4095)")])
            #expect(r.status == 206)
            joined += r.body
            at += 4096
        }
        #expect(joined == full.body)

        let beyond = try rawRequest(port: port, "GET", path, headers: [("Range", "bytes=\(size)-")])
        #expect(beyond.status == 416)
        #expect(beyond.header("Content-Range") == "bytes */\(size)")
        #expect(try problem(beyond)["status"] == 416)

        let multi = try rawRequest(port: port, "GET", path, headers: [("Range", "bytes=0-1,4-5")])
        #expect(multi.status == 200 && multi.body == full.body)
        let stale = try rawRequest(port: port, "GET", path, headers: [("Range", "bytes=0-1"), ("If-Range", "\"other\"")])
        #expect(stale.status == 200 && stale.body.count == size)
        let fresh = try rawRequest(port: port, "GET", path, headers: [("Range", "bytes=0-1"), ("If-Range", etag)])
        #expect(fresh.status == 206 && fresh.body.count == 2)

        let notModified = try rawRequest(port: port, "GET", path, headers: [("If-None-Match", etag)])
        #expect(notModified.status == 304 && notModified.body.isEmpty)
        #expect(notModified.header("ETag") == etag)
        let changed = try rawRequest(port: port, "GET", path, headers: [("If-None-Match", "\"nope\"")])
        #expect(changed.status == 200 && changed.body.count == size)

        let head = try rawRequest(port: port, "HEAD", path)
        #expect(head.status == 200 && head.body.isEmpty && head.header("Content-Length") == String(size))
        let headRange = try rawRequest(port: port, "HEAD", path, headers: [("Range", "bytes=0-9")])
        #expect(headRange.status == 206 && headRange.header("Content-Length") == "10")
    }

    @Test func idempotencyKeyReturnsTheSameJobAndRefusesAnotherBody() throws {
        let (service, backend, _) = try startJobService()
        defer { service.shutdown() }
        let port = service.mainPort
        let a = try postJob(port, toyTensors, key: "train-run-17")
        #expect(a.status == 202)
        let id = try jobID(a)
        // Same key, same body (other whitespace and a charset): the same job, no new work.
        var headers = jsonHeaders
        headers[0].1 = "application/json; charset=utf-8"
        let spaced = Array(JSONCodec.serialize(toyTensors, pretty: true).utf8)
        let b = try rawRequest(port: port, "POST", "/jobs", headers: headers + [("Idempotency-Key", "train-run-17")], body: spaced)
        #expect(b.status == 202)
        #expect(try jobID(b) == id)
        #expect(b.header("Idempotent-Replayed") == "true")
        #expect(b.header("Location") == "/jobs/\(id)")
        _ = try waitForJob(port, id, state: "done")
        let c = try postJob(port, toyTensors, key: "train-run-17")
        #expect(try jobID(c) == id)
        #expect(try JSONCodec.parse(c.body).objectValue?["state"] == "done")
        #expect(backend.streamsMade == 1)

        let other = try postJob(port, ["tensors": [["name": "x", "dtype": "float32"]]], key: "train-run-17")
        #expect(other.status == 422)
        let p = try problem(other)
        #expect(p["type"] == "urn:weightinit:problem:idempotency-key-reused")
        #expect(p["job_id"] == .string(id))

        let bad = try postJob(port, toyTensors, key: String(repeating: "k", count: 300))
        #expect(bad.status == 400)
        #expect(try problem(bad)["type"] == "urn:weightinit:problem:invalid-idempotency-key")

        // Without a key every POST is a new job; after DELETE the key is free again.
        #expect(try jobID(try postJob(port, toyTensors)) != id)
        #expect(try rawRequest(port: port, "DELETE", "/jobs/\(id)").status == 204)
        let fresh = try postJob(port, ["tensors": [["name": "x", "dtype": "float32"]]], key: "train-run-17")
        let freshID = try jobID(fresh)
        #expect(fresh.status == 202 && freshID != id)
    }

    @Test func badBodiesAreTheSameProblemsAsForInitialize() throws {
        let (service, _, dir) = try startJobService { $0.maxJobBytes = 1000 }
        defer { service.shutdown() }
        let port = service.mainPort
        let cases: [([(String, String)], [UInt8])] = [
            (jsonHeaders, jsonBody(["reject": "/model/children/c/type"])),
            (jsonHeaders, Array("{\"model\": [1,,2]}".utf8)),
            ([("Content-Type", "text/plain")], jsonBody([:])),
            (jsonHeaders, jsonBody(["tensors": [["name": "big", "dtype": "float64", "count": 500]]])),
        ]
        for (headers, body) in cases {
            let job = try rawRequest(port: port, "POST", "/jobs", headers: headers, body: body)
            let sync = try rawRequest(port: port, "POST", "/initialize", headers: headers, body: body)
            #expect(job.status == sync.status && job.status >= 400 && job.status < 500)
            let (pj, ps) = (try problem(job), try problem(sync))
            for field in ["type", "title", "status", "detail", "pointer"] { #expect(pj[field] == ps[field], "\(field)") }
        }
        #expect(try problem(try rawRequest(port: port, "POST", "/jobs", headers: jsonHeaders, body: jsonBody(["reject": "/model/children/c/type"])))["pointer"] == "/model/children/c/type")
        // Nothing was spooled.
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasPrefix(".") }
        #expect(files.isEmpty, "\(files)")
    }

    @Test func routingOfJobPaths() throws {
        let (service, _, _) = try startJobService()
        defer { service.shutdown() }
        let port = service.mainPort
        let list = try rawRequest(port: port, "GET", "/jobs")
        #expect(list.status == 405 && list.header("Allow") == "POST, OPTIONS")
        let unknown = try rawRequest(port: port, "GET", "/jobs/00000000-0000-0000-0000-000000000000")
        #expect(unknown.status == 404)
        #expect(try problem(unknown)["type"] == "urn:weightinit:problem:job-not-found")
        #expect(try rawRequest(port: port, "GET", "/jobs/../../etc/passwd").status == 404)
        #expect(try rawRequest(port: port, "GET", "/jobs/x/y/z").status == 404)
        // A job that does not exist has no methods: OPTIONS is a 404 like GET.
        let missing = try rawRequest(port: port, "OPTIONS", "/jobs/abc")
        #expect(missing.status == 404)
        #expect(try rawRequest(port: port, "OPTIONS", "/jobs/abc/checkpoint").status == 404)
        let post = try rawRequest(port: port, "POST", "/jobs/abc/checkpoint", headers: jsonHeaders, body: jsonBody([:]))
        #expect(post.status == 405 && post.header("Allow") == "GET, HEAD, OPTIONS")
        let id = try jobID(try postJob(port, ["tensors": [["name": "w", "dtype": "float32", "count": 4000]], "delay": 0.05, "chunk": 1000]))
        let options = try rawRequest(port: port, "OPTIONS", "/jobs/\(id)")
        #expect(options.status == 204 && options.header("Allow") == "GET, HEAD, DELETE, OPTIONS")
        let checkpointOptions = try rawRequest(port: port, "OPTIONS", "/jobs/\(id)/checkpoint")
        #expect(checkpointOptions.status == 204 && checkpointOptions.header("Allow") == "GET, HEAD, OPTIONS")
        let early = try rawRequest(port: port, "GET", "/jobs/\(id)/checkpoint")
        #expect(early.status == 409)
        #expect(try problem(early)["type"] == "urn:weightinit:problem:job-not-done")
    }

    @Test func cancellingARunningOrQueuedJobFreesItsSlotAndFile() throws {
        let (service, _, dir) = try startJobService { $0.maxStreams = 1; $0.queueDepth = 2 }
        defer { service.shutdown() }
        let port = service.mainPort
        let slow: JSONValue = ["tensors": [["name": "w", "dtype": "float32", "count": 100_000]], "delay": 0.05, "chunk": 4096]
        let running = try jobID(try postJob(port, slow))
        let queued = try jobID(try postJob(port, slow))
        let doc = try waitForJob(port, running, state: "running")
        #expect(try jobDocument(port, queued)["state"] == "queued")
        #expect(eventually { (try? jobDocument(port, running)["progress"]?.objectValue?["bytes_done"]?.intValue ?? 0) ?? 0 > 0 })
        #expect(doc["started_at"] != nil)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(running).partial").path))

        for id in [queued, running] {
            let cancel = try rawRequest(port: port, "DELETE", "/jobs/\(id)")
            #expect(cancel.status == 200)
            let body = try #require(try JSONCodec.parse(cancel.body).objectValue)
            #expect(body["state"] == "cancelled")
            #expect(body["reason"] == "cancelled by DELETE")
        }
        #expect(eventually { service.jobsRunning == 0 && service.jobsQueued == 0 })
        #expect(eventually { !FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(running).partial").path) })
        #expect(try jobDocument(port, running)["state"] == "cancelled")
        #expect(try rawRequest(port: port, "GET", "/jobs/\(running)/checkpoint").status == 409)
        // A finished job's DELETE removes it (and its files).
        #expect(try rawRequest(port: port, "DELETE", "/jobs/\(running)").status == 204)
        #expect(try rawRequest(port: port, "GET", "/jobs/\(running)").status == 404)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(running).json").path))
        let done = try jobID(try postJob(port, toyTensors))
        _ = try waitForJob(port, done, state: "done")
        #expect(try rawRequest(port: port, "DELETE", "/jobs/\(done)").status == 204)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(done).checkpoint").path))
    }

    @Test func jobsShareTheQueueLimitsAndTheSpoolCap() throws {
        let (service, _, _) = try startJobService { $0.maxStreams = 1; $0.queueDepth = 0; $0.spoolMaxBytes = 50_000 }
        defer { service.shutdown() }
        let port = service.mainPort
        let slow: JSONValue = ["tensors": [["name": "w", "dtype": "float32", "count": 5000]], "delay": 0.05, "chunk": 2000]
        let id = try jobID(try postJob(port, slow))
        let full = try postJob(port, toyTensors)
        #expect(full.status == 503)
        #expect(full.header("Retry-After") == "1")
        let sync = try rawRequest(port: port, "POST", "/initialize", headers: jsonHeaders, body: jsonBody(toyTensors))
        #expect(sync.status == 503)
        _ = try rawRequest(port: port, "DELETE", "/jobs/\(id)")
        #expect(eventually { service.jobsRunning == 0 })

        // 30 000 + 30 000 bytes do not fit in 50 000.
        let big: JSONValue = ["tensors": [["name": "w", "dtype": "float32", "count": 7496]]]
        let first = try postJob(port, big)
        #expect(first.status == 202)
        let firstID = try jobID(first)
        _ = try waitForJob(port, firstID, state: "done")
        let second = try postJob(port, big)
        #expect(second.status == 507)
        let p = try problem(second)
        #expect(p["type"] == "urn:weightinit:problem:spool-full")
        #expect(p["limit"] == 50_000)
        #expect(try rawRequest(port: port, "DELETE", "/jobs/\(firstID)").status == 204)
        #expect(try postJob(port, big).status == 202)
    }

    @Test func failedJobsSayWhyAndLeaveNoPartialFile() throws {
        let (service, _, dir) = try startJobService()
        defer { service.shutdown() }
        let port = service.mainPort
        let id = try jobID(try postJob(port, ["tensors": [["name": "w", "dtype": "float32", "count": 5000]], "failAt": 8000, "chunk": 1000]))
        let doc = try waitForJob(port, id)
        #expect(doc["state"] == "failed")
        #expect(doc["reason"]?.stringValue?.contains("injected failure") == true)
        #expect(doc["report"] == nil)
        #expect(eventually { service.jobsRunning == 0 })
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(id).partial").path))
    }

    @Test func finishedJobsExpireWithTheirFiles() throws {
        let (service, _, dir) = try startJobService { $0.jobTTL = 0.5 }
        defer { service.shutdown() }
        let port = service.mainPort
        let id = try jobID(try postJob(port, toyTensors))
        let doc = try waitForJob(port, id, state: "done")
        #expect(doc["expires_at"] != nil)
        #expect(eventually(timeout: 5) { !FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(id).checkpoint").path) })
        #expect(try rawRequest(port: port, "GET", "/jobs/\(id)").status == 404)
        // The files go one after the other (on the sweeping thread): wait for the metadata too.
        #expect(eventually(timeout: 5) { !FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(id).json").path) })
    }

    @Test func aRestartServesFinishedJobsAndFailsInterruptedOnes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wi-jobs-restart-\(UUID().uuidString)")
        let (first, _, _) = try startJobService(spool: dir)
        let port = first.mainPort
        let done = try jobID(try postJob(port, toyTensors, key: "k-done"))
        _ = try waitForJob(port, done, state: "done")
        let before = try rawRequest(port: port, "GET", "/jobs/\(done)/checkpoint")
        let slow = try jobID(try postJob(port, ["tensors": [["name": "w", "dtype": "float32", "count": 100_000]], "delay": 0.05]))
        _ = try waitForJob(port, slow, state: "running")
        // A second process on the same spool gets no jobs (one owner per folder).
        let (intruder, _, _) = try startJobService(spool: dir)
        #expect(try postJob(intruder.mainPort, toyTensors).status == 503)
        intruder.shutdown()
        first.shutdown()
        // A crash: metadata left saying `running`, a partial file beside it.
        let crashed = Job(id: JobID.make(), createdAt: Date(), idempotencyKey: nil, bodyHash: "x", contentLength: 10,
                          fileName: "c.safetensors", seed: "1", report: .null, state: .running)
        try Data(JSONCodec.serializeBytes(crashed.metadata())).write(to: dir.appendingPathComponent("\(crashed.id).json"))
        try Data([1, 2, 3]).write(to: dir.appendingPathComponent("\(crashed.id).partial"))
        try Data([1]).write(to: dir.appendingPathComponent("stray.partial"))

        let (second, backend, _) = try startJobService(spool: dir)
        defer { second.shutdown() }
        let p2 = second.mainPort
        let doc = try jobDocument(p2, done)
        #expect(doc["state"] == "done")
        let after = try rawRequest(port: p2, "GET", "/jobs/\(done)/checkpoint")
        #expect(after.status == 200 && after.body == before.body)
        #expect(after.header("ETag") == before.header("ETag"))
        #expect(try rawRequest(port: p2, "GET", "/jobs/\(done)/checkpoint", headers: [("If-None-Match", before.header("ETag")!)]).status == 304)
        for id in [slow, crashed.id] {
            let d = try jobDocument(p2, id)
            #expect(d["state"] == "failed")
            #expect(d["reason"]?.stringValue?.contains("interrupted") == true, "\(d)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(id).partial").path))
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("stray.partial").path))
        // The idempotency key survived too.
        #expect(try jobID(try postJob(p2, toyTensors, key: "k-done")) == done)
        #expect(backend.streamsMade == 0)
    }

    @Test func jobPageForPeopleEscapesNamesAndRefreshesWhileRunning() throws {
        let (service, _, _) = try startJobService()
        defer { service.shutdown() }
        let port = service.mainPort
        let hostile = "<script>alert(1)</script>&\"'"
        let spec: JSONValue = ["model": .string("Net<b>"), "tensors": [
            ["name": .string("layer.\(hostile).weight"), "dtype": "float32", "count": 50],
            ["name": "layer.bias", "dtype": "float32", "values": [0, 0]]]]
        let id = try jobID(try postJob(port, spec))
        _ = try waitForJob(port, id, state: "done")
        let page = try rawRequest(port: port, "GET", "/jobs/\(id)", headers: [("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")])
        #expect(page.status == 200)
        #expect(page.header("Content-Type") == "text/html; charset=utf-8")
        #expect(page.header("Vary") == "Accept")
        let html = page.text
        #expect(!html.contains("<script"))
        #expect(!html.contains("<b>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;"))
        #expect(html.contains("<svg id=\"std-chart\"") && html.contains("<svg id=\"mean-chart\""))
        #expect(html.components(separatedBy: "<tr class=").count - 1 == 2)
        #expect(!html.contains("http-equiv=\"refresh\""))
        // JSON stays the default; ?view= overrides.
        #expect(try rawRequest(port: port, "GET", "/jobs/\(id)").header("Content-Type") == "application/json")
        #expect(try rawRequest(port: port, "GET", "/jobs/\(id)?view=html").header("Content-Type") == "text/html; charset=utf-8")
        #expect(try rawRequest(port: port, "GET", "/jobs/\(id)", headers: [("Accept", "application/json, text/html;q=0.5")]).header("Content-Type") == "application/json")

        let slow = try jobID(try postJob(port, ["tensors": [["name": "w", "dtype": "float32", "count": 50_000]], "delay": 0.05, "chunk": 4096]))
        _ = try waitForJob(port, slow, state: "running")
        let running = try rawRequest(port: port, "GET", "/jobs/\(slow)?view=html")
        #expect(running.text.contains("<meta http-equiv=\"refresh\" content=\"2\">"))
        #expect(running.text.contains("role=\"progressbar\""))
        #expect(running.header("Refresh") == "2")
        _ = try rawRequest(port: port, "DELETE", "/jobs/\(slow)")
    }
}
}
