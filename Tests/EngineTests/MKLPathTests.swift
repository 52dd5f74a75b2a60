import Engine
import Foundation
import JSON
import XCTest

/// `"mkl"`: the inits torch computes with Intel MKL (erfinv_, orthogonal_) are refused unless the reference takes
/// MKL's SSE4.2 code path, the one reproduced; every other init is served on every path, with the same bytes.
final class MKLPathTests: XCTestCase {
    /// A golden case's spec, or an `init_weights` step on a 3×4 parameter, with `"mkl"`.
    func spec(_ name: String, mkl: String?) throws -> JSONValue {
        let data: Data
        if name == "orthogonal" {
            data = Data(#"{"seed": 1, "model": {"type": "P", "parameters": {"w": {"shape": [3, 4]}}, "init_weights": [{"param": "w", "type": "Orthogonal"}]}}"#.utf8)
        } else {
            data = try Data(contentsOf: Bundle.module.resourceURL!.appendingPathComponent("Fixtures/golden/\(name)/spec.json"))
        }
        guard case .object(var o) = try JSONCodec.parse([UInt8](data)) else { throw XCTSkip("not an object") }
        if let mkl { o["mkl"] = .string(mkl) }
        return .object(o)
    }

    func bytes(_ job: PreparedJob) throws -> [UInt8] {
        try GoldenCase(directory: URL(fileURLWithPath: "/")).drain(job, chunkBytes: 1 << 20)
    }

    func testMKLDependentInitsAreRefusedOffTheSSE42Path() throws {
        for (name, what) in [("trunc_normal", "erfinv_"), ("orthogonal", "orthogonal_")] {
            XCTAssertNoThrow(try Engine.prepare(spec(name, mkl: "sse4_2")), name)
            for path in ["avx2", "avx512", "other"] {
                XCTAssertThrowsError(try Engine.prepare(spec(name, mkl: path)), "\(name) \(path)") { e in
                    guard let e = e as? SpecError else { return XCTFail("\(e)") }
                    XCTAssertEqual(e.kind, .rejected)
                    XCTAssertTrue(e.pointer.description.hasPrefix("/model"), e.pointer.description)
                    XCTAssertTrue(e.message.contains(what) && e.message.contains("MKL_ENABLE_INSTRUCTIONS=SSE4_2"), e.message)
                }
            }
        }
    }

    func testOtherInitsAreTheSameOnEveryPath() throws {
        let plain = try bytes(Engine.prepare(spec("resnet_like", mkl: nil)))
        for path in ["sse4_2", "avx2", "avx512", "other"] {
            XCTAssertEqual(try bytes(Engine.prepare(spec("resnet_like", mkl: path))), plain, path)
        }
    }

    func testBadValue() {
        XCTAssertThrowsError(try Engine.prepare(spec("trunc_normal", mkl: "sse4"))) { e in
            XCTAssertEqual((e as? SpecError)?.pointer.description, "/mkl")
            XCTAssertEqual((e as? SpecError)?.kind, .invalid)
        }
    }
}
