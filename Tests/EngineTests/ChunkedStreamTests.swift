#if canImport(Glibc)
import Glibc
#endif
import Engine
import Foundation
import JSON
import XCTest

/// Memory is bounded by the chunk size, not by the largest tensor.
final class ChunkedStreamTests: XCTestCase {
    /// Resident set size in bytes (Linux /proc/self/statm), nil elsewhere.
    static func rss() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    func testOneLargeTensorStreamsInChunkMemory() throws {
        // One Linear(4096, 4096): a 64 MiB weight (16M float32), streamed with a 1 MiB chunk.
        let spec = try JSONCodec.parse(Array(#"{"seed": 3, "model": {"type": "ToyNet", "children": {"fc": {"type": "Linear", "in_features": 4096, "out_features": 4096, "bias": false}}, "init_cfg": {"type": "Normal", "std": 0.02, "layer": "Linear"}}}"#.utf8))
        let job = try Engine.prepare(spec)
        XCTAssertGreaterThan(job.contentLength, 64 << 20)
        let chunk = 1 << 20
        let stream = job.makeStream(chunkBytes: chunk)
        XCTAssertLessThanOrEqual(stream.stagingCapacity, chunk + 256)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 64)
        defer { buffer.deallocate() }
        let before = Self.rss()
        var peak = before ?? 0
        var total: UInt64 = 0
        var reads = 0
        while true {
            let n = try stream.read(into: buffer)
            if n == 0 { break }
            total += UInt64(n)
            reads += 1
            if before != nil, reads % 16 == 0 { peak = max(peak, Self.rss()!) }
        }
        XCTAssertEqual(total, job.contentLength)
        XCTAssertLessThanOrEqual(stream.stagingCapacity, chunk + 256)
        if let before {
            // Whole-tensor staging would add 64 MiB; a chunk adds ~1 MiB staging (+ at most 1 MiB scratch).
            XCTAssertLessThan(peak - before, 8 << 20, "RSS grew by \(peak - before) bytes streaming a 64 MiB tensor")
        }
    }
}
