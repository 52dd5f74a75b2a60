import Engine
import Foundation
import JSON
import XCTest

/// Programs whose expected state dicts were computed by real torch executing the same ops
/// (Fixtures/programs/make_programs.py), at several chunk sizes and output dtypes.
final class ProgramFixtureTests: XCTestCase {
    static func fixtures() throws -> [(String, JSONValue)] {
        let root = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/programs")
        let names = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { ($0, try JSONCodec.parse([UInt8](Data(contentsOf: root.appendingPathComponent($0))))) }
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    func testThereAreProgramFixtures() throws {
        XCTAssertGreaterThanOrEqual(try Self.fixtures().count, 9)
    }

    /// Every fixture, every output dtype, every chunk size: the bytes torch produced.
    func testEveryProgramFixtureMatchesTorch() throws {
        var failures: [String] = []
        var checked = 0
        for (name, fixture) in try Self.fixtures() {
            let o = fixture.objectValue!
            var request = o["request"]!.objectValue!
            for (dtype, expectedValue) in o["expected"]!.objectValue!.entries {
                request["dtype"] = .string(dtype)
                let job: PreparedJob
                do { job = try Engine.prepare(.object(request)) } catch {
                    failures.append("\(name) \(dtype): \(error)")
                    continue
                }
                let whole = try drain(job, chunkBytes: 1 << 30)
                for size in pieceSizes where try drainPieces(job, pieceBytes: size) != whole {
                    failures.append("\(name) \(dtype): pieces of \(size) differ from read")
                }
                for chunk in [1 << 30, 1, 76, 200, 1000] {
                    let file = try SafetensorsFile(bytes: chunk == 1 << 30 ? whole : try drain(job, chunkBytes: chunk))
                    for (entry, want) in expectedValue.objectValue!.entries {
                        checked += 1
                        guard let got = file.tensors[entry] else { failures.append("\(name) \(dtype): \(entry) missing"); continue }
                        let w = want.stringValue!
                        let g = Self.hex(got.bytes)
                        if g != w {
                            let size = dtype == "float64" || got.dtype == "I64" ? 16 : got.dtype == "F32" ? 8 : got.dtype == "BOOL" ? 2 : 4
                            let first = zip(g, w).enumerated().first { $0.element.0 != $0.element.1 }!.offset / size
                            failures.append("\(name) \(dtype) chunk \(chunk): \(entry) differs first at element \(first)")
                        }
                    }
                }
                if let info = o["init_info"]?.objectValue, let tensors = job.report.objectValue?["tensors"]?.arrayValue {
                    for t in tensors {
                        let n = t.objectValue!["name"]!.stringValue!
                        if let want = info[n], t.objectValue!["init_info"] != want {
                            failures.append("\(name) \(dtype): init_info of \(n) is \(t.objectValue!["init_info"]!), want \(want)")
                        }
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 500)
        XCTAssert(failures.isEmpty, failures.prefix(30).joined(separator: "\n"))
    }

    func drain(_ job: PreparedJob, chunkBytes: Int) throws -> [UInt8] {
        try EngineTests.drain(job, chunkBytes: chunkBytes, readSize: 997)
    }
}
