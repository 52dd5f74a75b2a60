import TorchRandom
import TorchRandomAVX512
import XCTest

/// Every build of the float32 loops this CPU runs (`CPUCapability.available`: avx2, and avx512 where the CPU has
/// it) gives the scalar references' bytes and end states, serial and split across threads.
final class CPUKernelsTests: XCTestCase {
    override func tearDown() {
        CPUKernels.active = CPUKernels.avx2
        ParallelFill.workers = 1
        ParallelFill.minElements = 1 << 18
        ParallelFill.partElements = 1 << 17
    }

    func testEveryCapabilityMatchesTheReferences() throws {
        let sizes = [16, 17, 31, 32, 33, 48, 100, 623, 624, 625, 4096, 4113, 8209, 70_001]
        for capability in CPUCapability.available {
            XCTAssertEqual(try CPUCapability.select(capability), capability)
            XCTAssertEqual(CPUKernels.active.capability, capability)
            for workers in [1, 2] {
                ParallelFill.workers = workers
                ParallelFill.minElements = 64
                ParallelFill.partElements = 32
                for pre in [0, 7, 620] {
                    for n in sizes {
                        for kind in 0..<2 {
                            var g = CPUGenerator(seed: 2024)
                            g.skip(pre)
                            var h = g
                            var x = [Float](repeating: 0, count: n), y = x
                            if kind == 0 {
                                x.withUnsafeMutableBufferPointer { Distributions.normal($0, mean: 0.25, std: 3, &g) }
                                y.withUnsafeMutableBufferPointer { Distributions.normalReference($0, mean: 0.25, std: 3, &h) }
                            } else {
                                x.withUnsafeMutableBufferPointer { Distributions.uniform($0, from: -0.5, to: 0.75, &g) }
                                y.withUnsafeMutableBufferPointer { Distributions.uniformReference($0, from: -0.5, to: 0.75, &h) }
                            }
                            let what = "\(capability) \(kind == 0 ? "normal" : "uniform") workers=\(workers) pre=\(pre) n=\(n)"
                            XCTAssertEqual(x.map(\.bitPattern), y.map(\.bitPattern), what)
                            XCTAssertEqual(g.engine.stateWords, h.engine.stateWords, what)
                            XCTAssertEqual(g.engine.remainingInBlock, h.engine.remainingInBlock, what)
                        }
                    }
                }
            }
        }
    }

    /// Skips of whole blocks go through the table's twist: the same state as drawing the words one by one.
    func testEveryCapabilitySkipsLikeDrawing() throws {
        for capability in CPUCapability.available {
            try CPUCapability.select(capability)
            for (pre, n) in [(0, 624), (0, 625), (3, 1248), (600, 5000), (623, 62_400)] {
                var a = MT19937(seed: 9), b = a
                a.skipSequential(pre)
                a.skipSequential(n)
                b.generate(pre + n) { _, _ in }
                XCTAssertEqual(a.stateWords, b.stateWords, "\(capability) pre=\(pre) n=\(n)")
                XCTAssertEqual(a.next(), b.next(), "\(capability) pre=\(pre) n=\(n)")
            }
        }
    }

    func testSelection() throws {
        XCTAssertEqual(try CPUCapability.select(nil), CPUCapability.available.last)
        XCTAssertEqual(try CPUCapability.select("AUTO"), CPUCapability.available.last)
        XCTAssertEqual(try CPUCapability.select("avx2"), "avx2")
        XCTAssertThrowsError(try CPUCapability.select("sse2")) { error in
            XCTAssertTrue("\(error)".contains("\"sse2\" is not available"), "\(error)")
        }
        if !CPUCapability.supportsAVX512 {
            XCTAssertThrowsError(try CPUCapability.select("avx512"))
        }
    }
}
