import Foundation
import Engine
import JSON
import XCTest

/// Specs that would overflow sizes or exceed limits are refused with a pointer, never a trap.
final class HostileSpecTests: XCTestCase {
    func rejection(_ json: String, maxJobBytes: UInt64 = 64 << 30) -> SpecError? {
        do {
            _ = try Engine.prepare(try JSONCodec.parse(json), options: EngineOptions(maxJobBytes: maxJobBytes))
            return nil
        } catch let e as SpecError {
            return e
        } catch {
            XCTFail("unexpected error \(error)")
            return nil
        }
    }

    func testHugeArgumentsAreRefusedWithTheirPointer() {
        let e = rejection(#"{"seed": 0, "model": {"type": "Net", "children": {"a": {"type": "Linear", "in_features": 9000000000000000000, "out_features": 2}}}}"#)
        XCTAssertEqual(e?.pointer.description, "/model/children/a/in_features")
    }

    func testOverflowingShapesAreRefused() {
        let mha = rejection(#"{"model": {"type": "Net", "children": {"m": {"type": "MultiheadAttention", "embed_dim": 4611686018427387904, "num_heads": 1}}}}"#)
        XCTAssertNotNil(mha)
        let params = rejection(#"{"model": {"type": "N", "parameters": {"p": {"shape": [1073741824, 1073741824, 1073741824]}}}}"#)
        XCTAssertEqual(params?.pointer.description, "/model")
        let kernel = rejection(#"{"model": {"type": "N", "children": {"c": {"type": "Conv3d", "in_channels": 1099511627776, "out_channels": 1099511627776, "kernel_size": 1099511627776}}}}"#)
        XCTAssertNotNil(kernel)
    }

    func testJobsOverTheByteLimitAreRefusedBeforeGenerating() {
        let e = rejection(#"{"model": {"type": "N", "children": {"e": {"type": "Embedding", "num_embeddings": 100000, "embedding_dim": 1000}}}}"#,
                          maxJobBytes: 1 << 20)
        XCTAssertEqual(e?.kind, .limit)
    }

    /// `bias_prob` outside (0, 1): MMEngine 0.10.7's `bias_init_with_prob` is `float(-np.log((1 - p) / p))`, so 1.5
    /// and -0.5 give NaN biases and 1.0 infinite ones (numpy warns, nothing raises: checked in process with the
    /// test venv's mmengine); 0.0 raises ZeroDivisionError and an int raises TypeError (422).
    func testBiasProbOutsideTheUnitIntervalFollowsMMEngine() throws {
        func spec(_ p: String) -> String {
            #"{"seed": 0, "model": {"type": "Net", "children": {"fc": {"type": "Linear", "in_features": 4, "out_features": 2}}, "init_cfg": {"type": "Normal", "bias_prob": \#(p), "layer": "Linear"}}}"#
        }
        for (p, check) in [("1.5", { (x: Float) in x.isNaN }), ("-0.5", { $0.isNaN }), ("1.0", { $0 == .infinity })] {
            let job = try Engine.prepare(try JSONCodec.parse(spec(p)))
            let st = try SafetensorsFile(bytes: GoldenCase(directory: URL(fileURLWithPath: NSTemporaryDirectory())).drain(job))
            let bias = st.tensors["fc.bias"]!.bytes
            let values = stride(from: 0, to: bias.count, by: 4).map { i in
                Float(bitPattern: UInt32(bias[i]) | UInt32(bias[i + 1]) << 8 | UInt32(bias[i + 2]) << 16 | UInt32(bias[i + 3]) << 24)
            }
            XCTAssertEqual(values.count, 2)
            XCTAssertTrue(values.allSatisfy(check), "bias_prob \(p): \(values)")
        }
        XCTAssertEqual(rejection(spec("0.0"))?.kind, .rejected)
        XCTAssert(rejection(spec("0.0"))?.message.contains("ZeroDivisionError") == true)
        XCTAssert(rejection(spec("1"))?.message.contains("TypeError") == true)
    }
}
