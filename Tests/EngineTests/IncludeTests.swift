import Engine
import Foundation
import JSON
import XCTest

/// `include`: only the matching state-dict entries, in state-dict order, with exactly the full run's values.
final class IncludeTests: XCTestCase {
    private func with(_ body: JSONValue, include globs: [String]) -> JSONValue {
        guard case .object(var o) = body else { return body }
        o["include"] = .array(globs.map { .string($0) })
        return .object(o)
    }

    /// Every accepted golden case, every second entry by exact name and a glob over the last half: same bytes per
    /// tensor as the full stream, report listing only those entries.
    func testIncludedTensorsHaveTheFullRunsValues() throws {
        var checked = 0
        for dir in GoldenCaseTests.caseDirectories() {
            let golden = GoldenCase(directory: dir)
            guard let (spec, options) = try golden.acceptedSpec() else { continue }
            let full = try SafetensorsFile(bytes: golden.drain(try Engine.prepare(spec, options: options)))
            guard !full.names.isEmpty else { continue }
            let everyOther = full.names.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
            for globs in [everyOther, [full.names.last!], ["*"]] where !globs.isEmpty {
                let job = try Engine.prepare(with(spec, include: globs), options: options)
                let part = try SafetensorsFile(bytes: golden.drain(job, chunkBytes: 300))
                let want = globs == ["*"] ? full.names : full.names.filter { globs.contains($0) }
                XCTAssertEqual(part.names, want, dir.lastPathComponent)
                for name in want {
                    XCTAssertEqual(part.tensors[name]?.bytes, full.tensors[name]?.bytes, "\(dir.lastPathComponent) \(name)")
                    checked += 1
                }
                let names = job.report.objectValue?["tensors"]?.arrayValue?.compactMap { $0.objectValue?["name"]?.stringValue }
                XCTAssertEqual(names, want)
            }
        }
        XCTAssertGreaterThan(checked, 200)
    }

    func testGlobSyntax() throws {
        let body: JSONValue = try JSONCodec.parse(Array("""
        {"seed": 1, "model": {"type": "Net", "children": {
          "a": {"type": "Linear", "in_features": 2, "out_features": 3},
          "b": {"type": "Conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 1},
          "bn": {"type": "BatchNorm1d", "num_features": 2}}}}
        """.utf8))
        func names(_ globs: [String]) throws -> [String] {
            let job = try Engine.prepare(with(body, include: globs))
            return job.plan.tensors.map(\.record.name)
        }
        XCTAssertEqual(try names(["*.weight"]), ["a.weight", "b.weight", "bn.weight"])
        XCTAssertEqual(try names(["b*"]), ["b.weight", "b.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"])
        XCTAssertEqual(try names(["?.bias", "bn.running_[mv]*"]), ["a.bias", "b.bias", "bn.running_mean", "bn.running_var"])
        XCTAssertEqual(try names(["bn.weight", "a.weight"]), ["a.weight", "bn.weight"])  // state-dict order, not glob order
    }

    func testBadIncludes() throws {
        let spec: JSONValue = ["model": ["type": "Linear", "in_features": 2, "out_features": 3]]
        for (include, pointer, kind) in [
            (JSONValue.array([.string("weight"), .string("nope*")]), "/include/1", SpecError.Kind.rejected),
            (.array([]), "/include", .invalid),
            (.string("weight"), "/include", .invalid),
            (.array([.int(1)]), "/include/0", .invalid),
            (.array([.string("")]), "/include/0", .invalid),
        ] {
            guard case .object(var o) = spec else { return }
            o["include"] = include
            XCTAssertThrowsError(try Engine.prepare(.object(o))) { error in
                let e = error as? SpecError
                XCTAssertEqual(e?.pointer.description, pointer, "\(include)")
                XCTAssertEqual(e?.kind, kind, "\(include)")
            }
        }
    }
}
