import Engine
import Foundation
import JSON
import XCTest

/// Parallel generation inside a request: the same bytes at every thread count and chunk size.
final class ParallelGenerationTests: XCTestCase {
    override func tearDown() {
        GenerationThreads.count = 1
        GenerationThreads.minimumElements = 1 << 18
    }

    /// Every golden case with fills split across 2 and 3 threads (split from 16 elements up), at tiny and default
    /// chunk sizes: the expected (torch) bytes, and the same stream as one thread.
    func testEveryGoldenCaseOnSeveralThreads() throws {
        var failures: [String] = []
        var compared = 0
        for dir in GoldenCaseTests.caseDirectories() {
            let golden = GoldenCase(directory: dir)
            guard let (spec, options) = try golden.acceptedSpec() else { continue }
            let job = try Engine.prepare(spec, options: options)
            GenerationThreads.count = 1
            let serial = try golden.drain(job, chunkBytes: 1 << 30)
            for threads in [2, 3] {
                GenerationThreads.count = threads
                GenerationThreads.minimumElements = 16
                let problems = try golden.check(format: .safetensors)
                if !problems.isEmpty { failures.append("\(dir.lastPathComponent) threads \(threads):\n  " + problems.prefix(8).joined(separator: "\n  ")) }
                for chunk in [76, 1000, 1 << 30] {
                    compared += 1
                    if try golden.drain(job, chunkBytes: chunk, readSize: 997) != serial {
                        failures.append("\(dir.lastPathComponent) threads \(threads) chunk \(chunk): bytes differ from one thread")
                    }
                }
            }
        }
        XCTAssertGreaterThan(compared, 100)
        XCTAssertTrue(failures.isEmpty, failures.joined(separator: "\n"))
    }

    /// A tensor of 65,535 elements (numel % 16 = 15) of each random fill, 1 vs 2 threads, split from 2^12 elements, 16 KiB chunks.
    func testEachFillSplitAcrossChunks() throws {
        for initCfg in [#"{"type": "Normal", "std": 0.02, "layer": "Linear"}"#, #"{"type": "Uniform", "a": -0.1, "b": 0.3, "layer": "Linear"}"#,
                        #"{"type": "TruncNormal", "std": 0.02, "layer": "Linear"}"#, #"{"type": "Kaiming", "layer": "Linear"}"#] {
            let spec = try JSONCodec.parse(Array(#"{"seed": 9, "model": {"type": "ToyNet", "children": {"fc": {"type": "Linear", "in_features": 257, "out_features": 255}}, "init_cfg": \#(initCfg)}}"#.utf8))
            let job = try Engine.prepare(spec)
            var outputs: [[UInt8]] = []
            for threads in [1, 2] {
                GenerationThreads.count = threads
                GenerationThreads.minimumElements = 1 << 12
                let stream = job.makeStream(chunkBytes: 16 << 10)
                var bytes: [UInt8] = []
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
                defer { buffer.deallocate() }
                while true {
                    let n = try stream.read(into: buffer)
                    if n == 0 { break }
                    bytes.append(contentsOf: buffer[0..<n])
                }
                outputs.append(bytes)
            }
            XCTAssertEqual(outputs[0].count, Int(job.contentLength))
            XCTAssertTrue(outputs[0] == outputs[1], "\(initCfg): 2 threads differ from 1")
        }
    }
}
