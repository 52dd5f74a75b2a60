import Engine
import Foundation
import JSON
import XCTest

/// `"mkl"`: the inits torch computes with Intel MKL: erfinv_ is reproduced on MKL's SSE4.2, AVX2 and AVX-512 code
/// paths (its values against torch's on each: TorchInitTests/ErfinvMKLTests and the Python client's test_mkl.py) and
/// refused for a torch without MKL; orthogonal_, and trunc-normal on float64 storage (MKL's vmdErfInv), are reproduced
/// on the SSE4.2 path only and refused on the others.
/// Every other init is served on every path, with the same bytes.
final class MKLPathTests: XCTestCase {
    /// A golden case's spec (`extra`: an extra case's), or an `init_weights` step on a 3×4 parameter, with `"mkl"`.
    func spec(_ name: String, mkl: String?, extra: Bool = false) throws -> JSONValue {
        let data: Data
        if name == "orthogonal" {
            data = Data(#"{"seed": 1, "model": {"type": "P", "parameters": {"w": {"shape": [3, 4]}}, "init_weights": [{"param": "w", "type": "Orthogonal"}]}}"#.utf8)
        } else {
            data = try Data(contentsOf: Bundle.module.resourceURL!.appendingPathComponent("Fixtures/\(extra ? "extra" : "golden")/\(name)/spec.json"))
        }
        guard case .object(var o) = try JSONCodec.parse([UInt8](data)) else { throw XCTSkip("not an object") }
        if let mkl { o["mkl"] = .string(mkl) }
        return .object(o)
    }

    func bytes(_ job: PreparedJob) throws -> [UInt8] {
        try GoldenCase(directory: URL(fileURLWithPath: "/")).drain(job, chunkBytes: 1 << 20)
    }

    func testWhatIsNotReproducedIsRefused() throws {
        for (name, what, refusedOn) in [("trunc_normal", "erfinv_", ["other"]), ("orthogonal", "orthogonal_", ["avx2", "avx512", "other"])] {
            XCTAssertNoThrow(try Engine.prepare(spec(name, mkl: "sse4_2")), name)
            for path in ["avx2", "avx512", "other"] where !refusedOn.contains(path) {
                XCTAssertNoThrow(try Engine.prepare(spec(name, mkl: path)), "\(name) \(path)")
            }
            for path in refusedOn {
                XCTAssertThrowsError(try Engine.prepare(spec(name, mkl: path)), "\(name) \(path)") { e in
                    guard let e = e as? SpecError else { return XCTFail("\(e)") }
                    XCTAssertEqual(e.kind, .rejected)
                    XCTAssertTrue(e.pointer.description.hasPrefix("/model"), e.pointer.description)
                    XCTAssertTrue(e.message.contains(what) && e.message.contains("MKL_ENABLE_INSTRUCTIONS=SSE4_2"), e.message)
                }
            }
        }
    }

    /// float64 storage runs MKL's vmdErfInv, reproduced (to the golden cases' leeway) only as on the SSE4.2 path.
    func testFloat64TruncNormalIsRefusedOffTheSSE42Path() throws {
        XCTAssertNoThrow(try Engine.prepare(spec("container_params_truncnormal_f64", mkl: "sse4_2", extra: true)))
        for path in ["avx2", "avx512", "other"] {
            XCTAssertThrowsError(try Engine.prepare(spec("container_params_truncnormal_f64", mkl: path, extra: true)), path) { e in
                XCTAssertEqual((e as? SpecError)?.kind, .rejected)
                XCTAssertTrue((e as? SpecError)?.message.contains("erfinv_") == true, "\(e)")
            }
        }
    }

    /// A trunc-normal tensor of 2^20 values: each path's erfinv is used (the paths' values differ in about 1 in
    /// 140 (AVX-512) and 1 in 4,000 (AVX2) values of such a tensor), the uniform draws under it are the same.
    func testTruncNormalFollowsThePath() throws {
        func body(_ mkl: String) throws -> JSONValue {
            try JSONCodec.parse([UInt8](#"""
            {"seed": 5, "mkl": "\#(mkl)", "model": {"type": "Net", "children": {
              "fc": {"type": "Linear", "in_features": 1024, "out_features": 1024}},
              "init_cfg": {"type": "TruncNormal", "layer": "Linear", "std": 0.02}}}
            """#.utf8))
        }
        var outputs: [String: [UInt8]] = [:]
        for path in ["sse4_2", "avx2", "avx512"] { outputs[path] = try bytes(Engine.prepare(body(path))) }
        func differing(_ a: [UInt8], _ b: [UInt8]) -> Int {
            XCTAssertEqual(a.count, b.count)
            return stride(from: 0, to: a.count, by: 4).filter { a[$0..<($0 + 4)] != b[$0..<($0 + 4)] }.count
        }
        let avx2 = differing(outputs["sse4_2"]!, outputs["avx2"]!), avx512 = differing(outputs["sse4_2"]!, outputs["avx512"]!)
        XCTAssertGreaterThan(avx2, 20)
        XCTAssertLessThan(avx2, 2_000)
        XCTAssertGreaterThan(avx512, 2_000)
        XCTAssertLessThan(avx512, 30_000)
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
