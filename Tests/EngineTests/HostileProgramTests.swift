import Foundation
import Engine
import Program
import JSON
import XCTest

/// Programs are untrusted input: every violation is a typed error pointing at the offending field, never a trap.
final class HostileProgramTests: XCTestCase {
    let base = #"{"version": 1, "model": "M", "storages": [{"numel": 12, "dtype": "float32"}, {"numel": 4, "dtype": "float32"}],"#
        + #" "state_dict": [{"name": "w", "storage": 0, "shape": [3, 4]}], "sites": ["a.py:1 in f"], "ops": OPS}"#

    func expectError(_ ops: String, _ pointer: String, _ kind: SpecError.Kind = .invalid, contains text: String? = nil,
                     file: StaticString = #filePath, line: UInt = #line) throws {
        let body = #"{"seed": 0, "program": "# + base.replacingOccurrences(of: "OPS", with: ops) + "}"
        let json = try JSONCodec.parse(Array(body.utf8))
        do {
            _ = try Engine.prepare(json)
            XCTFail("accepted: \(ops)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.pointer.description, pointer, "\(error)", file: file, line: line)
            XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
            if let text { XCTAssert(error.message.contains(text), error.message, file: file, line: line) }
        }
    }

    func testWindowsOutsideTheirStorage() throws {
        try expectError(#"[{"op": "fill_", "out": {"storage": 0, "offset": 12, "shape": [1], "stride": [1]}, "value": 0}]"#, "/program/ops/0/out/offset")
        try expectError(#"[{"op": "fill_", "out": {"storage": 0, "offset": 1, "shape": [3, 4], "stride": [4, 1]}, "value": 0}]"#, "/program/ops/0/out/stride/1")
        try expectError(#"[{"op": "fill_", "out": {"storage": 0, "shape": [2], "stride": [9223372036854775807]}, "value": 0}]"#, "/program/ops/0/out/stride/0")
        try expectError(#"[{"op": "fill_", "out": {"storage": 0, "shape": [2], "stride": [-1]}, "value": 0}]"#, "/program/ops/0/out/stride/0")
        try expectError(#"[{"op": "fill_", "out": {"storage": 0, "shape": [-2], "stride": [1]}, "value": 0}]"#, "/program/ops/0/out/shape/0")
        try expectError(#"[{"op": "fill_", "out": {"storage": 0, "offset": -1, "shape": [2], "stride": [1]}, "value": 0}]"#, "/program/ops/0/out/offset")
        try expectError(#"[{"op": "fill_", "out": {"storage": 0, "shape": [4611686018427387904, 4], "stride": [0, 0]}, "value": 0}]"#, "/program/ops/0/out/shape/0")
        try expectError(#"[{"op": "fill_", "out": {"storage": 0, "shape": [2, 2], "stride": [1]}, "value": 0}]"#, "/program/ops/0/out/stride")
        try expectError(#"[{"op": "fill_", "out": 7, "value": 0}]"#, "/program/ops/0/out")
        try expectError(#"[{"op": "fill_", "out": {"storage": 2, "shape": [1], "stride": [1]}, "value": 0}]"#, "/program/ops/0/out/storage")
        try expectError(#"[{"op": "fill_", "out": {"storage": 0, "shape": [3], "stride": [0]}, "value": 0}]"#, "/program/ops/0/out/stride/0", .rejected)
    }

    func testUnknownOpsAndKeys() throws {
        try expectError(#"[{"op": "bernoulli_", "out": 0}]"#, "/program/ops/0/op", contains: "unknown op")
        try expectError(#"[{"op": "fill_", "out": 0, "value": 0, "generator": 1}]"#, "/program/ops/0/generator", contains: "unknown key")
        try expectError(#"[{"op": "uniform_", "out": 0, "form": 0}]"#, "/program/ops/0/form", contains: "did you mean 'from'")
        try expectError(#"[{"op": "fill_", "out": 0, "value": 0, "site": 3}]"#, "/program/ops/0/site")
        try expectError(#"[{"op": "fill_", "out": 0, "value": "x"}]"#, "/program/ops/0/value")
        try expectError(#"[17]"#, "/program/ops/0")
    }

    func testCopySources() throws {
        try expectError(#"[{"op": "copy_", "out": 0, "src": 1}]"#, "/program/ops/0/src", contains: "no earlier op wrote")
        try expectError(#"[{"op": "fill_", "out": 1, "value": 1}, {"op": "copy_", "out": 0, "src": 5}]"#, "/program/ops/1/src")
        try expectError(#"[{"op": "fill_", "out": 1, "value": 1}, {"op": "copy_", "out": 0, "src": {"storage": 1, "offset": 2, "shape": [3], "stride": [1]}}]"#, "/program/ops/1/src/stride/0")
        try expectError(#"[{"op": "fill_", "out": 1, "value": 1}, {"op": "copy_", "out": {"storage": 0, "shape": [3, 4], "stride": [4, 1]}, "src": {"storage": 1, "shape": [3], "stride": [1]}}]"#, "/program/ops/1/src", .rejected)
    }

    func testRefusedArithmeticAndTorchErrors() throws {
        try expectError(#"[{"op": "uniform_", "out": 0, "from": 1, "to": 0}]"#, "/program/ops/0", .rejected, contains: "uniform_ expects")
        try expectError(#"[{"op": "normal_", "out": 0, "std": -1}]"#, "/program/ops/0", .rejected, contains: "std >= 0.0")
        try expectError(#"[{"op": "normal_", "out": {"storage": 0, "shape": [4, 3], "stride": [1, 4]}}]"#, "/program/ops/0/out", contains: "contiguous")
        try expectError(#"[{"op": "fill_", "out": 0, "value": 0}, {"op": "add_", "out": 0, "other": 0.1, "alpha": 0.3}]"#, "/program/ops/1", .rejected, contains: "alpha")
        try expectError(#"[{"op": "trunc_normal_", "out": 0, "mean": 0, "std": 1, "a": 1, "b": 1.5}]"#, "/program/ops/0", .rejected, contains: "0.3")
        try expectError(#"[{"op": "trunc_normal_", "out": 0, "mean": 0, "std": 0, "a": -1, "b": 1}]"#, "/program/ops/0/std", .rejected)
        try expectError(#"[{"op": "clamp_", "out": 0}]"#, "/program/ops/0", .rejected)
        try expectError(#"[{"op": "literal", "out": 1, "data": "AAAA"}]"#, "/program/ops/0/data", contains: "bytes")
        try expectError(#"[{"op": "literal", "out": 1, "data": "!!"}]"#, "/program/ops/0/data", contains: "base64")
    }

    func testStructure() throws {
        func expectBody(_ body: String, _ pointer: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let json = try JSONCodec.parse(Array(body.utf8))
            do {
                _ = try Engine.prepare(json)
                XCTFail("accepted: \(body)", file: file, line: line)
            } catch {
                XCTAssertEqual(error.pointer.description, pointer, "\(error)", file: file, line: line)
            }
        }
        try expectBody(#"{"program": {"version": 2}}"#, "/program/version")
        try expectBody(#"{"program": {"version": 1, "model": "M", "storages": [{"numel": 281474976710657, "dtype": "float32"}], "state_dict": [], "ops": []}}"#, "/program/storages/0/numel")
        try expectBody(#"{"program": {"version": 1, "model": "M", "storages": [{"numel": 4, "dtype": "complex64"}], "state_dict": [], "ops": []}}"#, "/program/storages/0/dtype")
        try expectBody(#"{"program": {"version": 1, "model": "M", "storages": [{"numel": 4, "dtype": "float32"}], "state_dict": [{"name": "w", "storage": 0, "shape": [5]}], "ops": []}}"#, "/program/state_dict/0/shape")
        try expectBody(#"{"program": {"version": 1, "model": "M", "storages": [], "state_dict": [], "ops": [], "extra": 1}}"#, "/program/extra")
        try expectBody(#"{"model": {"type": "ToyNet"}, "program": {}}"#, "/program")
    }

    func testATiedProgramPlansWithoutValues() throws {
        let body = #"{"seed": 1, "program": {"version": 1, "model": "Tied", "storages": [{"numel": 6, "dtype": "float32"}], "state_dict": [{"name": "a", "storage": 0, "shape": [2, 3]}, {"name": "b", "storage": 0, "shape": [6]}], "sites": ["x.py:3 in f"], "ops": [{"op": "normal_", "out": 0, "std": 0.02, "site": 0, "module": "emb"}]}}"#
        let job = try Engine.prepare(try JSONCodec.parse(Array(body.utf8)))
        XCTAssertEqual(job.fileName, "Tied-seed1.safetensors")
        let tensors = job.report.objectValue!["tensors"]!.arrayValue!
        XCTAssertEqual(tensors.count, 2)
        let by = tensors[1].objectValue!["initialized_by"]!.arrayValue![0].objectValue!
        XCTAssertEqual(by["initializer"], "normal_")
        XCTAssertEqual(by["phase"], "program")
        XCTAssertEqual(by["site"], "x.py:3 in f")
        XCTAssertEqual(by["module"], "emb")
        XCTAssertEqual(by["pointer"], "/program/ops/0")
    }

    /// Regression (corpus `program-copy-cycle-6000`): 6,000 copies back and forth between two storages made the
    /// replay recurse once per copy and overflow the stack, killing the server. Chains are bounded at parse time.
    func testLongCopyChainsAreRefusedBeforeTheReplay() throws {
        func chain(_ n: Int, selfCopy: Bool) -> String {
            var ops = [#"{"op": "normal_", "out": 0}"#, #"{"op": "normal_", "out": 1}"#]
            for i in 0..<n {
                ops.append(selfCopy
                    ? #"{"op": "copy_", "out": {"storage": 0, "offset": \#(i % 2), "shape": [1], "stride": [1]}, "src": {"storage": 0, "offset": \#(1 - i % 2), "shape": [1], "stride": [1]}}"#
                    : #"{"op": "copy_", "out": \#(i % 2), "src": \#(1 - i % 2)}"#)
            }
            return "[" + ops.joined(separator: ", ") + "]"
        }
        let limit = ProgramLimits().maxCopyDepth
        let twoStorages = #"{"seed": 0, "program": {"version": 1, "model": "M", "storages": [{"numel": 4, "dtype": "float32"}, {"numel": 4, "dtype": "float32"}], "state_dict": [{"name": "a", "storage": 0, "shape": [4]}], "ops": OPS}}"#
        for selfCopy in [false, true] {
            // At the limit: accepted and replayed (the stream completes).
            let ok = try Engine.prepare(try JSONCodec.parse(Array(twoStorages.replacingOccurrences(of: "OPS", with: chain(limit, selfCopy: selfCopy)).utf8)))
            XCTAssertEqual(UInt64(try drain(ok).count), ok.contentLength)
            // One more, or 6,000: refused, pointing at the copy that is too deep.
            for n in [limit + 1, 6000] {
                let body = try JSONCodec.parse(Array(twoStorages.replacingOccurrences(of: "OPS", with: chain(n, selfCopy: selfCopy)).utf8))
                do {
                    _ = try Engine.prepare(body)
                    XCTFail("a chain of \(n) copies was accepted")
                } catch {
                    XCTAssertEqual(error.kind, .invalid)
                    XCTAssertEqual(error.pointer.description, "/program/ops/\(limit + 2)/src", error.message)
                    XCTAssert(error.message.contains("chain of \(limit) copies"), error.message)
                }
            }
        }
    }

    /// Regression (corpus `program-temporary-*`, `program-ops-7000-uniform-2pow28`): a storage no state_dict entry
    /// reads was not counted by the job limit, so a 2^40-element temporary behind a windowed fill aborted the server
    /// on allocation, and a dead 2^48-element draw kept a worker busy for days. Both are now bounded by the job limit.
    func testTemporariesAndDeadDrawsCountAgainstTheJobLimit() throws {
        func prepare(_ storages: String, _ ops: String) throws(SpecError) -> PreparedJob {
            let body = #"{"seed": 0, "program": {"version": 1, "model": "M", "storages": [{"numel": 4, "dtype": "float32"}, "# + storages
                + #"], "state_dict": [{"name": "w", "storage": 0, "shape": [4]}], "ops": "# + ops + "}}"
            return try Engine.prepare(try! JSONCodec.parse(Array(body.utf8)), options: EngineOptions(maxJobBytes: 1 << 30))
        }
        func expectLimit(_ storages: String, _ ops: String, _ pointer: String, line: UInt = #line) {
            do {
                _ = try prepare(storages, ops)
                XCTFail("accepted", line: line)
            } catch {
                XCTAssertEqual(error.kind, .limit, line: line)
                XCTAssertEqual(error.pointer.description, pointer, error.message, line: line)
            }
        }
        expectLimit(#"{"numel": 1099511627776, "dtype": "float32"}"#,
                    #"[{"op": "normal_", "out": {"storage": 1, "offset": 1, "shape": [16], "stride": [1]}}, {"op": "copy_", "out": 0, "src": {"storage": 1, "offset": 1, "shape": [4], "stride": [1]}}]"#,
                    "/program/storages")
        expectLimit(#"{"numel": 281474976710656, "dtype": "float32"}"#, #"[{"op": "uniform_", "out": 1}, {"op": "normal_", "out": 0}]"#, "/program/storages")
        // 4 x 1 GiB of storages is allowed; 16 x 2^30 elements written is the work limit.
        let big = #"{"numel": 268435456, "dtype": "float32"}"#
        let ops = { (n: Int) in "[" + Array(repeating: #"{"op": "uniform_", "out": 1}"#, count: n).joined(separator: ", ") + "]" }
        XCTAssertNoThrow(try prepare(big, ops(64)))
        expectLimit(big, ops(65), "/program/ops")
    }

    /// Regression (FuzzProgram, Fuzz/regressions/FuzzProgram/snapshot-released-before-copy.json): storage 0 is
    /// streamed chunk by chunk (normal_, then a constant window fill) and a later copy_ reads it into storage 2,
    /// which is evaluated whole. The stream released op 3's generator snapshot after storage 0 and the evaluation
    /// of storage 2 trapped (`preconditionFailure`), killing the server. The replay now keeps every snapshot a
    /// whole evaluation needs, so the stream completes.
    func testACopyOfAChunkedStorageStreamsInFull() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/regressions/FuzzProgram/snapshot-released-before-copy.json")
        let job = try Engine.prepare(try JSONCodec.parse([UInt8](Data(contentsOf: url))))
        XCTAssertEqual(UInt64(try drain(job).count), job.contentLength)
    }

    /// Copies of one element out of a 2^20-element temporary that changes between them: each copy replays the
    /// temporary's history, so the work grows with the square of the copies. Refused at plan time past a budget
    /// that follows the checkpoint's size (64 element operations per byte, 16 MiB at least); a few copies pass.
    func testQuadraticCopyReplaysAreRefused() throws {
        func body(copies: Int) -> JSONValue {
            var ops = [#"{"op": "uniform_", "out": 0}"#]
            for i in 0..<copies {
                ops.append(#"{"op": "mul_", "out": 0, "other": 1.5}"#)
                ops.append(#"{"op": "copy_", "out": {"storage": 1, "offset": \#(i), "shape": [1], "stride": [1]}, "#
                           + #""src": {"storage": 0, "offset": 0, "shape": [1], "stride": [1]}}"#)
            }
            let text = #"{"seed": 0, "program": {"version": 1, "model": "M", "storages": [{"numel": 1048576, "dtype": "float32"}, "#
                + #"{"numel": \#(copies), "dtype": "float32"}], "state_dict": [{"name": "x", "storage": 1, "shape": [\#(copies)]}], "#
                + #""ops": ["# + ops.joined(separator: ", ") + "]}}"
            return try! JSONCodec.parse(Array(text.utf8))
        }
        XCTAssertNoThrow(try Engine.prepare(body(copies: 8)))
        XCTAssertThrowsError(try Engine.prepare(body(copies: 64))) { error in
            let e = error as? SpecError
            XCTAssertEqual(e?.kind, .limit)
            XCTAssertEqual(e?.pointer.description, "/program/ops")
        }
    }
}
