@testable import Checkpoints
import Engine
import Foundation
import JSON
import XCTest

/// The python with torch the engine tests use: `WEIGHTINIT_TEST_PYTHON`, else the shared test venv; nil: skip.
let engineTestPython: String? = {
    var candidates: [String] = []
    if let p = ProcessInfo.processInfo.environment["WEIGHTINIT_TEST_PYTHON"] { candidates.append(p) }
    candidates.append(NSHomeDirectory() + "/.cache/weightinit/venv/bin/python")
    for p in candidates where FileManager.default.isExecutableFile(atPath: p) {
        if runTool(p, ["-c", "import torch, safetensors"]).status == 0 { return p }
    }
    return nil
}()

@discardableResult
func runTool(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    do { try p.run() } catch { return (-1, "\(error)") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Tied state-dict entries (one storage, several names): one storage record in the torch zip, as torch.save writes
/// it; every name written in safetensors.
final class TiedCheckpointTests: XCTestCase {
    /// A program with two tied pairs (one of them under a different shape) and untied tensors between them.
    static let program: JSONValue = try! JSONCodec.parse(Array("""
    {"version": 1, "model": "TiedLM",
     "storages": [{"numel": 48, "dtype": "float32"}, {"numel": 6, "dtype": "float32"}, {"numel": 1, "dtype": "int64"},
                  {"numel": 12, "dtype": "float32"}],
     "state_dict": [{"name": "wte.weight", "storage": 0, "shape": [6, 8], "kind": "parameter"},
                    {"name": "bias", "storage": 1, "shape": [6], "kind": "parameter"},
                    {"name": "proj.weight", "storage": 3, "shape": [3, 4], "kind": "parameter"},
                    {"name": "lm_head.weight", "storage": 0, "shape": [6, 8], "kind": "parameter"},
                    {"name": "n", "storage": 2, "shape": [], "kind": "buffer"},
                    {"name": "proj_t.weight", "storage": 3, "shape": [4, 3], "kind": "parameter"}],
     "modules": [{"path": "", "class": "TiedLM", "bases": ["Module"], "init_weights": false,
                  "parameters": {"bias": 1}, "buffers": {"n": 4}}],
     "ops": [{"op": "normal_", "out": 0, "mean": 0.0, "std": 0.02},
             {"op": "uniform_", "out": 1, "from": -1.0, "to": 1.0},
             {"op": "fill_", "out": 2, "value": 0},
             {"op": "normal_", "out": 3, "mean": 1.0, "std": 2.0}]}
    """.utf8))

    func drain(_ job: PreparedJob, chunkBytes: Int = 64) throws -> [UInt8] {
        try EngineTests.drain(job, chunkBytes: chunkBytes, readSize: 333)
    }

    func ranges(_ job: PreparedJob) -> [String: [Int64]] {
        var out: [String: [Int64]] = [:]
        for t in job.report.objectValue!["tensors"]!.arrayValue! {
            let o = t.objectValue!
            out[o["name"]!.stringValue!] = o["byte_range"]!.arrayValue!.map { $0.intValue! }
        }
        return out
    }

    func testTorchZipWritesOneStorageRecordPerTiedStorage() throws {
        let st = try Engine.prepare(.object(["program": Self.program, "seed": 7, "format": "safetensors"]))
        let pt = try Engine.prepare(.object(["program": Self.program, "seed": 7, "format": "pytorch"]))
        let stBytes = try drain(st)
        let ptBytes = try drain(pt)
        XCTAssertEqual(UInt64(stBytes.count), st.contentLength)
        XCTAssertEqual(UInt64(ptBytes.count), pt.contentLength)
        for chunk in [1, 7, 1 << 20] { XCTAssertEqual(try drain(pt, chunkBytes: chunk), ptBytes, "chunk \(chunk)") }
        for size in pieceSizes {
            XCTAssertEqual(try drainPieces(pt, pieceBytes: size), ptBytes, "pieces of \(size)")
            XCTAssertEqual(try drainPieces(st, pieceBytes: size), stBytes, "pieces of \(size)")
        }

        // safetensors: every name has its own bytes, equal for tied names.
        let sf = try SafetensorsFile(bytes: stBytes)
        XCTAssertEqual(sf.names, ["wte.weight", "bias", "proj.weight", "lm_head.weight", "n", "proj_t.weight"])
        XCTAssertEqual(sf.tensors["wte.weight"]!.bytes, sf.tensors["lm_head.weight"]!.bytes)
        XCTAssertEqual(sf.tensors["proj.weight"]!.bytes, sf.tensors["proj_t.weight"]!.bytes)
        let sr = ranges(st)
        XCTAssertNotEqual(sr["wte.weight"], sr["lm_head.weight"])

        // pytorch: four storages, four data records; tied names point at one record.
        let zip = try ZipArchive(ByteSource(bytes: ptBytes), limits: .default)
        XCTAssertEqual(zip.entries.map(\.name).filter { $0.hasPrefix("archive/data/") },
                       ["archive/data/0", "archive/data/1", "archive/data/2", "archive/data/3"])
        let pr = ranges(pt)
        XCTAssertEqual(pr["wte.weight"], pr["lm_head.weight"])
        XCTAssertEqual(pr["proj.weight"], pr["proj_t.weight"])
        for (name, r) in pr {
            XCTAssertEqual(Array(ptBytes[Int(r[0])..<Int(r[1])]), sf.tensors[name]!.bytes, name)
        }
        let record = try zip.dataRange(zip.entries.first { $0.name == "archive/data/0" }!)
        XCTAssertEqual([Int64(record.lowerBound), Int64(record.upperBound)], pr["wte.weight"])
        let c = try CheckpointReader.load(bytes: ptBytes, name: "tied.pth")
        XCTAssertEqual(c.stateDict.map(\.key), sf.names)
        for (key, t) in c.stateDict {
            XCTAssertEqual(t.shape, sf.tensors[key]!.shape, key)
            XCTAssertEqual(try c.readBytes(t), sf.tensors[key]!.bytes, key)
        }

        let dir = NSTemporaryDirectory() + "tied-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(ptBytes).write(to: URL(fileURLWithPath: dir + "/tied.pth"))
        try Data(stBytes).write(to: URL(fileURLWithPath: dir + "/tied.safetensors"))
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/unzip") {
            let r = runTool("/usr/bin/unzip", ["-t", dir + "/tied.pth"])
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertTrue(r.output.contains("No errors detected"), r.output)
        }
        guard let python = engineTestPython else { throw XCTSkip("no python with torch: structural checks only") }
        let script = """
        import sys, torch, safetensors.torch
        d = sys.argv[1]
        for mmap in (False, True):
            sd = torch.load(d + "/tied.pth", weights_only=True, mmap=mmap)
            st = safetensors.torch.load_file(d + "/tied.safetensors")
            assert list(sd) == list(st), (list(sd), list(st))
            for k in sd:
                assert sd[k].dtype == st[k].dtype and sd[k].shape == st[k].shape, k
                assert torch.equal(sd[k], st[k]), k
            ptr = lambda k: sd[k].untyped_storage().data_ptr()
            assert ptr("wte.weight") == ptr("lm_head.weight")
            assert ptr("proj.weight") == ptr("proj_t.weight")
            assert len({ptr(k) for k in sd}) == 4
            assert sd["proj_t.weight"].shape == (4, 3) and sd["proj_t.weight"].is_contiguous()
        # load_state_dict into a model whose parameters are tied keeps them tied and equal to the file.
        class LM(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.wte = torch.nn.Embedding(6, 8)
                self.lm_head = torch.nn.Linear(8, 6, bias=False)
                self.lm_head.weight = self.wte.weight
        m = LM()
        sd = torch.load(d + "/tied.pth", weights_only=True)
        m.load_state_dict({"wte.weight": sd["wte.weight"], "lm_head.weight": sd["lm_head.weight"]})
        assert m.wte.weight is m.lm_head.weight and torch.equal(m.wte.weight, sd["wte.weight"])
        print("OK")
        """
        let r = runTool(python, ["-c", script, dir])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.hasSuffix("OK\n"), r.output)
    }
}
