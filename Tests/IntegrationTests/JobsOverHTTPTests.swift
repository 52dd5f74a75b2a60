import Foundation
import JSON
import XCTest
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Async jobs against the real binary: byte-identical to /initialize, ranged and repeated fetches,
/// idempotency, cancellation, and a restart (graceful and SIGKILL) on the same spool folder.
final class JobsOverHTTPTests: XCTestCase {
    static let toyNet = #"{"seed": 0, "model": {"type": "ToyNet", "init_cfg": [{"type": "Kaiming", "layer": "Conv2d"}, {"type": "Xavier", "layer": "Linear"}], "children": {"linear": {"type": "Linear", "in_features": 16, "out_features": 8}, "conv": {"type": "Conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": 3}, "bn": {"type": "BatchNorm2d", "num_features": 4}}}}"#
    /// ~32 MB of normal_ draws: seconds in a debug build, long enough to be caught running.
    static let big = #"{"seed": 1, "model": {"type": "Net", "children": {"emb": {"type": "Embedding", "num_embeddings": 8000, "embedding_dim": 1024}}}}"#

    func spoolDir() -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wi-it-jobs-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    func testJobCheckpointIsTheStreamedCheckpointRangedRepeatedAndIdempotent() throws {
        let server = try ServerProcess(arguments: ["--spool-dir", spoolDir().path])
        defer { _ = server.terminate() }
        for format in ["safetensors", "pytorch"] {
            let body = Data(Self.toyNet.replacingOccurrences(of: #""seed": 0,"#, with: #""seed": 0, "format": "\#(format)","#).utf8)
            let created = try request("POST", server.url("/jobs"), body: body, headers: ["Idempotency-Key": "it-\(format)"])
            XCTAssertEqual(created.status, 202)
            let id = try XCTUnwrap(object(created.body)["id"]?.stringValue)
            XCTAssertEqual(created.headers["location"], "/jobs/\(id)")
            let doc = try poll(server, id, until: "done")
            let streamed = try request("POST", server.url("/initialize"), body: body)
            XCTAssertEqual(streamed.status, 200)

            let fetched = try request("GET", server.url("/jobs/\(id)/checkpoint"))
            XCTAssertEqual(fetched.status, 200)
            XCTAssertEqual(fetched.body, streamed.body, "a job's checkpoint is the /initialize stream byte for byte (\(format))")
            XCTAssertEqual(fetched.headers["content-disposition"], streamed.headers["content-disposition"])
            XCTAssertEqual(fetched.headers["content-type"], streamed.headers["content-type"])
            let again = try request("GET", server.url("/jobs/\(id)/checkpoint"))
            XCTAssertEqual(again.body, streamed.body)
            let etag = try XCTUnwrap(fetched.headers["etag"])
            XCTAssertEqual(etag, "\"\(doc["sha256"]?.stringValue ?? "")\"")

            let progress = try XCTUnwrap(doc["progress"]?.objectValue)
            XCTAssertEqual(progress["bytes_total"]?.intValue, Int64(streamed.body.count))
            let tensors = try XCTUnwrap(doc["report"]?.objectValue?["tensors"]?.arrayValue)
            XCTAssertEqual(progress["tensors_total"]?.intValue, Int64(tensors.count))
            XCTAssertEqual(tensors.first?.objectValue?["stats"]?.objectValue?["count"], 128)

            let n = streamed.body.count
            let part = try request("GET", server.url("/jobs/\(id)/checkpoint"), headers: ["Range": "bytes=100-\(n - 1)"])
            XCTAssertEqual(part.status, 206)
            XCTAssertEqual(part.headers["content-range"], "bytes 100-\(n - 1)/\(n)")
            XCTAssertEqual(part.body, streamed.body.subdata(in: 100..<n))
            let none = try request("GET", server.url("/jobs/\(id)/checkpoint"), headers: ["Range": "bytes=\(n + 5)-"])
            XCTAssertEqual(none.status, 416)
            let same = try request("GET", server.url("/jobs/\(id)/checkpoint"), headers: ["If-None-Match": etag])
            XCTAssertEqual(same.status, 304)

            let replay = try request("POST", server.url("/jobs"), body: body, headers: ["Idempotency-Key": "it-\(format)"])
            XCTAssertEqual(try object(replay.body)["id"]?.stringValue, id)
            let clash = try request("POST", server.url("/jobs"), body: Data(Self.big.utf8), headers: ["Idempotency-Key": "it-\(format)"])
            XCTAssertEqual(clash.status, 422)
        }
        // A bad spec is the same 422 with a pointer as for /initialize, and spools nothing.
        let bad = #"{"model": {"type": "Net", "children": {"c": {"type": "Conv2D", "in_channels": 1, "out_channels": 1, "kernel_size": 1}}}}"#
        let r = try request("POST", server.url("/jobs"), body: Data(bad.utf8))
        XCTAssertEqual(r.status, 422)
        XCTAssertEqual(r.headers["content-type"], "application/problem+json")
        XCTAssertEqual(try object(r.body)["pointer"], "/model/children/c/type")
    }

    func testCancellingARunningJob() throws {
        let server = try ServerProcess(arguments: ["--spool-dir", spoolDir().path])
        defer { _ = server.terminate() }
        let created = try request("POST", server.url("/jobs"), body: Data(Self.big.utf8))
        let id = try XCTUnwrap(object(created.body)["id"]?.stringValue)
        _ = try poll(server, id, until: "running")
        let cancel = try request("DELETE", server.url("/jobs/\(id)"))
        XCTAssertEqual(cancel.status, 200)
        XCTAssertEqual(try object(cancel.body)["state"], "cancelled")
        XCTAssertEqual(try request("GET", server.url("/jobs/\(id)/checkpoint")).status, 409)
        XCTAssertEqual(try request("DELETE", server.url("/jobs/\(id)")).status, 204)
        XCTAssertEqual(try request("GET", server.url("/jobs/\(id)")).status, 404)
    }

    func testRestartServesFinishedJobsAndFailsTheOneKilledMidRun() throws {
        let dir = spoolDir()
        let first = try ServerProcess(arguments: ["--spool-dir", dir.path])
        let done = try XCTUnwrap(object(try request("POST", first.url("/jobs"), body: Data(Self.toyNet.utf8)).body)["id"]?.stringValue)
        _ = try poll(first, done, until: "done")
        let before = try request("GET", first.url("/jobs/\(done)/checkpoint"))
        let killed = try XCTUnwrap(object(try request("POST", first.url("/jobs"), body: Data(Self.big.utf8)).body)["id"]?.stringValue)
        _ = try poll(first, killed, until: "running", minBytes: 1)
        kill(first.process.processIdentifier, SIGKILL)
        _ = first.waitForExit()
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(killed).partial").path))

        let second = try ServerProcess(arguments: ["--spool-dir", dir.path])
        defer { _ = second.terminate() }
        let after = try request("GET", second.url("/jobs/\(done)/checkpoint"))
        XCTAssertEqual(after.status, 200)
        XCTAssertEqual(after.body, before.body)
        XCTAssertEqual(after.headers["etag"], before.headers["etag"])
        let doc = try object(try request("GET", second.url("/jobs/\(killed)")).body)
        XCTAssertEqual(doc["state"], "failed")
        XCTAssertTrue(doc["reason"]?.stringValue?.contains("interrupted") == true, "\(doc)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(killed).partial").path))

        // SIGTERM while a job runs: the drain marks it failed, and the next start still says so.
        let running = try XCTUnwrap(object(try request("POST", second.url("/jobs"), body: Data(Self.big.utf8)).body)["id"]?.stringValue)
        _ = try poll(second, running, until: "running")
        XCTAssertEqual(second.terminate(), 0)
        let third = try ServerProcess(arguments: ["--spool-dir", dir.path])
        defer { _ = third.terminate() }
        let d3 = try object(try request("GET", third.url("/jobs/\(running)")).body)
        XCTAssertEqual(d3["state"], "failed")
        XCTAssertTrue(d3["reason"]?.stringValue?.contains("interrupted") == true, "\(d3)")
        XCTAssertEqual(try request("GET", third.url("/jobs/\(done)/checkpoint")).body, before.body)
    }
}

// MARK: Helpers

/// `http` with extra headers and no caching; JSON Content-Type only when there is a body.
func request(_ method: String, _ url: URL, body: Data? = nil, headers: [String: String] = [:],
             timeout: TimeInterval = 60) throws -> (status: Int, headers: [String: String], body: Data) {
    try http(method, url, body: body, contentType: body != nil ? "application/json" : nil, headers: headers,
             timeout: timeout, session: uncachedSession)
}

let uncachedSession: URLSession = {
    let c = URLSessionConfiguration.ephemeral
    c.urlCache = nil
    c.requestCachePolicy = .reloadIgnoringLocalCacheData
    return URLSession(configuration: c)
}()

func object(_ data: Data) throws -> JSONObject {
    guard let o = try JSONCodec.parse([UInt8](data)).objectValue else { throw URLError(.cannotParseResponse) }
    return o
}

/// Polls GET /jobs/{id} until `state` (and at least `minBytes` done), at most `timeout` seconds.
func poll(_ server: ServerProcess, _ id: String, until state: String, minBytes: Int64 = 0, timeout: Double = 120) throws -> JSONObject {
    let deadline = Date().addingTimeInterval(timeout)
    var last: JSONObject = [:]
    while Date() < deadline {
        last = try object(try request("GET", server.url("/jobs/\(id)")).body)
        let bytes = last["progress"]?.objectValue?["bytes_done"]?.intValue ?? 0
        if last["state"]?.stringValue == state && bytes >= minBytes { return last }
        if let s = last["state"]?.stringValue, ["failed", "cancelled"].contains(s) || (s == "done" && state != "done") {
            throw NSError(domain: "poll", code: 1, userInfo: [NSLocalizedDescriptionKey: "job \(id) is \(s), waited for \(state): \(last)"])
        }
        usleep(25_000)
    }
    throw NSError(domain: "poll", code: 2, userInfo: [NSLocalizedDescriptionKey: "job \(id) not \(state) after \(timeout) s: \(last)"])
}
