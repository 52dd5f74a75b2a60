import Foundation
import JSON
import XCTest

/// The real binary: registry, probes, errors, and SIGTERM during a stream.
final class ServerBehaviourTests: XCTestCase {
    func testInitializersListsMMEngineRegistryWithDefaults() throws {
        let server = try ServerProcess()
        defer { _ = server.terminate() }
        let r = try http("GET", server.url("/initializers"), contentType: nil)
        XCTAssertEqual(r.status, 200)
        let doc = try JSONCodec.parse([UInt8](r.body))
        let inits = doc.objectValue!["initializers"]!.arrayValue!.map { $0.objectValue! }
        XCTAssertEqual(Set(inits.map { $0["name"]!.stringValue! }),
                       ["Constant", "Xavier", "Normal", "TruncNormal", "Uniform", "Kaiming", "Caffe2Xavier", "Pretrained"])
        let kaiming = inits.first { $0["name"] == "Kaiming" }!["arguments"]!.arrayValue!.map { $0.objectValue! }
        XCTAssertEqual(kaiming.first { $0["name"] == "mode" }?["default"], "fan_out")
        XCTAssertEqual(kaiming.first { $0["name"] == "nonlinearity" }?["default"], "relu")
        XCTAssertEqual(kaiming.first { $0["name"] == "distribution" }?["default"], "normal")
        let modules = doc.objectValue!["modules"]!.arrayValue!.compactMap { $0.objectValue?["type"]?.stringValue }
        XCTAssertTrue(modules.contains("MultiheadAttention"))
    }

    func testBadSpecIs422WithPointerAndServerKeepsServing() throws {
        let server = try ServerProcess()
        defer { _ = server.terminate() }
        let bad = #"{"model": {"type": "Net", "children": {"c": {"type": "Conv2D", "in_channels": 1, "out_channels": 1, "kernel_size": 1}}}}"#
        let r = try http("POST", server.url("/initialize"), body: Data(bad.utf8))
        XCTAssertEqual(r.status, 422)
        let problem = try JSONCodec.parse([UInt8](r.body)).objectValue!
        XCTAssertEqual(problem["pointer"], "/model/children/c/type")
        XCTAssertTrue(problem["detail"]!.stringValue!.contains("Conv2d"))
        let malformed = try http("POST", server.url("/initialize"), body: Data("{\"model\": [1,,2]}".utf8))
        XCTAssertEqual(malformed.status, 400)
        XCTAssertEqual(try http("GET", server.url("/healthz", ops: true), contentType: nil).status, 200)
        XCTAssertEqual(try http("GET", server.url("/readyz"), contentType: nil).status, 200)
    }

    func testSeedlessRequestGetsAFreshSeedThatReproduces() throws {
        let server = try ServerProcess()
        defer { _ = server.terminate() }
        let spec = #"{"model": {"type": "Net", "children": {"fc": {"type": "Linear", "in_features": 8, "out_features": 4}}}}"#
        let a = try http("POST", server.url("/initialize"), body: Data(spec.utf8))
        XCTAssertEqual(a.status, 200)
        let seed = try XCTUnwrap(a.headers["x-init-seed"])
        let seeded = #"{"seed": \#(seed), "model": {"type": "Net", "children": {"fc": {"type": "Linear", "in_features": 8, "out_features": 4}}}}"#
        let b = try http("POST", server.url("/initialize"), body: Data(seeded.utf8))
        // Same values. The reports differ in seed_source ("generated" vs "request"), so the padded headers can
        // differ by 8 bytes: compare the data sections after each header.
        XCTAssertEqual(safetensorsParts(a.body).data.count, 4 * (8 * 4 + 4))
        XCTAssertEqual(safetensorsParts(a.body).data, safetensorsParts(b.body).data)
    }

    func testSIGTERMDuringAStreamFinishesItAndExitsZero() throws {
        let server = try ServerProcess()
        // ~16 MB of normal_ draws: still in flight when the signal arrives, even in a release build.
        let spec = #"{"seed": 1, "model": {"type": "Net", "children": {"emb": {"type": "Embedding", "num_embeddings": 4000, "embedding_dim": 1024}}}}"#
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        let url = server.url("/initialize")
        DispatchQueue.global().async {
            box.result = try? http("POST", url, body: Data(spec.utf8))
            done.signal()
        }
        Thread.sleep(forTimeInterval: 0.2)
        kill(server.process.processIdentifier, SIGTERM)
        done.wait()
        XCTAssertEqual(server.waitForExit(), 0)
        let r = try XCTUnwrap(box.result)
        XCTAssertEqual(r.0, 200)
        XCTAssertEqual(r.1["content-length"], String(r.2.count))
    }
}
