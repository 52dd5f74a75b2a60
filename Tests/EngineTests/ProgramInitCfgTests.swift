import Engine
import Foundation
import JSON
import XCTest

/// `init_cfg` on a traced program: expected state dicts from real torch + MMEngine
/// (`torch.manual_seed(s); m = factory(); [m.init_weights()]; initialize(m.get_submodule(path), cfg)` per path),
/// Fixtures/program_init_cfg/make_init_cfg.py.
final class ProgramInitCfgTests: XCTestCase {
    static func fixtures() throws -> [(String, JSONObject)] {
        let root = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/program_init_cfg")
        let names = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { ($0, try JSONCodec.parse([UInt8](Data(contentsOf: root.appendingPathComponent($0)))).objectValue!) }
    }

    func drain(_ job: PreparedJob) throws -> [UInt8] {
        let stream = job.makeStream()
        var out: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let n = try stream.read(into: buffer)
            if n == 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return out
    }

    func testSHA256() {
        XCTAssertEqual(SHA256.hex([UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Array(repeating: UInt8(ascii: "a"), count: 1000)),
                       "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    func testInitCfgOnProgramsMatchesMMEngine() throws {
        let fixtures = try Self.fixtures()
        XCTAssertGreaterThanOrEqual(fixtures.count, 4)
        var failures: [String] = []
        var cases = 0, tensors = 0
        for (file, fixture) in fixtures {
            let program = fixture["program"]!
            for c in fixture["cases"]!.arrayValue! {
                let o = c.objectValue!
                let label = "\(file) \(o["name"]!.stringValue!)"
                let body: JSONValue = .object(["program": program, "seed": o["seed"]!, "init_cfg": o["init_cfg"]!])
                let job: PreparedJob
                do { job = try Engine.prepare(body) } catch { failures.append("\(label): \(error)"); continue }
                cases += 1
                let file = try SafetensorsFile(bytes: try drain(job))
                let expected = o["expected"]!.objectValue!
                if file.names != expected.keys { failures.append("\(label): keys \(file.names) != \(expected.keys)") }
                for (name, want) in expected.entries {
                    tensors += 1
                    guard let got = file.tensors[name] else { failures.append("\(label): \(name) missing"); continue }
                    let w = want.objectValue!
                    if got.shape != w["shape"]!.arrayValue!.map({ Int($0.intValue!) }) { failures.append("\(label): \(name) shape") }
                    if SHA256.hex(got.bytes) != w["sha256"]!.stringValue! { failures.append("\(label): \(name) differs") }
                }
                // init_info: MMEngine's traced init_weights dump (initialize() outside init_weights logs nothing), or null.
                let info = o["init_info"]?.objectValue
                for t in job.report.objectValue!["tensors"]!.arrayValue! {
                    let r = t.objectValue!
                    guard r["kind"] == "parameter" else { continue }
                    let n = r["name"]!.stringValue!
                    let want: JSONValue = info.map { $0[n] ?? .null } ?? .null
                    if (r["init_info"] ?? .null) != want { failures.append("\(label): init_info of \(n) is \(r["init_info"] ?? .null), want \(want)") }
                }
            }
        }
        XCTAssertGreaterThanOrEqual(cases, 15)
        XCTAssertGreaterThan(tensors, 500)
        XCTAssert(failures.isEmpty, failures.prefix(40).joined(separator: "\n"))
    }
}
