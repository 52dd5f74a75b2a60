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
}
