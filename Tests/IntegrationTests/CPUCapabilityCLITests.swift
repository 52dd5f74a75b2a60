import Foundation
import XCTest

/// `--cpu-capability` / `WEIGHTINIT_CPU_CAPABILITY` through the real binary: every build the CPU runs writes the same
/// file (a model large enough that its fills are split across the threads), an unknown one is refused with the choices.
final class CPUCapabilityCLITests: XCTestCase {
    func testEveryCapabilityWritesTheSameBytes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpu-capability-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let spec = dir.appendingPathComponent("spec.json")
        try Data(#"""
        {"seed": 11, "model": {"type": "Net", "children": {
          "fc": {"type": "Linear", "in_features": 1024, "out_features": 700},
          "emb": {"type": "Embedding", "num_embeddings": 1000, "embedding_dim": 301}},
          "init_cfg": [{"type": "Normal", "layer": "Linear", "std": 0.02}]}}
        """#.utf8).write(to: spec)
        var outputs: [String: Data] = [:]
        for capability in ["auto", "avx2", "avx512"] {
            let out = dir.appendingPathComponent("\(capability).safetensors")
            let (status, text) = try runCommand([ServerProcess.binary.path, "init", spec.path, "-o", out.path,
                                                 "--workers", "2", "--cpu-capability", capability])
            if capability == "avx512" && status != 0 {
                XCTAssertTrue(text.contains("\"avx512\" is not available"), text)  // a CPU without AVX-512
                continue
            }
            XCTAssertEqual(status, 0, text)
            outputs[capability] = try Data(contentsOf: out)
        }
        XCTAssertGreaterThan(outputs["auto"]?.count ?? 0, 1024 * 700 * 4)
        for (capability, bytes) in outputs { XCTAssertEqual(bytes, outputs["auto"], capability) }

        let (status, text) = try runCommand([ServerProcess.binary.path, "init", spec.path, "-o",
                                             dir.appendingPathComponent("x.safetensors").path, "--cpu-capability", "sse2"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(text.contains("\"sse2\" is not available") && text.contains("avx2"), text)
    }
}
