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
        try EngineTests.drain(job, readSize: 1 << 20)
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

extension ProgramInitCfgTests {
    func smallNet() throws -> JSONValue {
        try Self.fixtures().first { $0.0 == "small_net.json" }!.1["program"]!
    }

    func rejection(_ initCfg: JSONValue, model: Bool = false) throws -> SpecError {
        var body: JSONObject = ["seed": 0, "init_cfg": initCfg]
        if model { body["model"] = ["type": "Linear", "in_features": 1, "out_features": 1] } else { body["program"] = try smallNet() }
        do {
            _ = try Engine.prepare(.object(body))
        } catch let e as SpecError {
            return e
        }
        XCTFail("accepted \(initCfg)")
        return SpecError(.invalid, at: .root, "")
    }

    func testInitCfgErrorsPointIntoTheRequest() throws {
        var e = try rejection(["blocks.1.bnn": ["type": "Constant", "val": 1]])
        XCTAssertEqual(e.kind, .rejected)
        XCTAssertEqual(e.pointer.description, "/init_cfg/blocks.1.bnn")
        XCTAssertTrue(e.message.contains("did you mean 'blocks.1.bn'"), e.message)

        e = try rejection(["blocks.0": [["type": "Kaiming", "layer": "Conv2d"], ["type": "Constant", "layer": 3, "val": 1]]])
        XCTAssertEqual(e.pointer.description, "/init_cfg/blocks.0/1/layer")
        XCTAssertTrue(e.message.contains("TypeError"), e.message)

        e = try rejection(["": ["type": "Kaiming", "layer": "Conv2d", "override": ["name": "nope"]]])
        XCTAssertEqual(e.pointer.description, "/init_cfg//override/name")
        XCTAssertTrue(e.message.contains("module did not have attribute nope"), e.message)

        // A wholemodule Kaiming over norm layers: torch's fan computation refuses 1-D weights.
        e = try rejection(["": ["type": "Constant", "val": 1, "override": ["name": "blocks", "type": "Kaiming"]]])
        XCTAssertEqual(e.kind, .rejected)
        XCTAssertEqual(e.pointer.description, "/init_cfg//override")
        XCTAssertTrue(e.message.contains("Fan in and fan out can not be computed"), e.message)

        e = try rejection(["fc": 3])
        XCTAssertEqual(e.pointer.description, "/init_cfg/fc")
        XCTAssertEqual(e.message, "TypeError: init_cfg must be a dict or a list of dict,                 but got <class 'int'>")

        e = try rejection(["fc": ["x"]])
        XCTAssertEqual(e.pointer.description, "/init_cfg/fc/0")
        XCTAssertEqual(e.message, "AttributeError: 'str' object has no attribute 'pop'")

        e = try rejection(["fc": ["type": "Nope"]])
        XCTAssertEqual(e.pointer.description, "/init_cfg/fc/type")

        e = try rejection([["type": "Constant", "val": 1]])
        XCTAssertEqual(e.kind, .invalid)
        XCTAssertEqual(e.pointer.description, "/init_cfg")

        e = try rejection(["": ["type": "Constant", "val": 1]], model: true)
        XCTAssertEqual(e.kind, .invalid)
        XCTAssertEqual(e.pointer.description, "/init_cfg")
    }

    /// The init_cfg writes appear in the report after the traced ops, with their pointers.
    func testReportNamesTheInitCfgWrites() throws {
        let job = try Engine.prepare(.object(["program": try smallNet(), "seed": 0,
                                              "init_cfg": ["fc": ["type": "Constant", "layer": "Linear", "val": 2, "bias": 1]]]))
        let fc = job.report.objectValue!["tensors"]!.arrayValue!.first { $0.objectValue!["name"] == "fc.weight" }!.objectValue!
        let last = fc["initialized_by"]!.arrayValue!.last!.objectValue!
        XCTAssertEqual(last["initializer"], "ConstantInit", "\(last)")
        XCTAssertEqual(last["pointer"], "/init_cfg/fc", "\(last)")
    }
}
