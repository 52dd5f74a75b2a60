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
                        assertFillsMatchReferences(seed: 2024, pre: pre, n: n, normal: (0.25, 3), uniform: (-0.5, 0.75),
                                                   "\(capability) workers=\(workers)")
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
