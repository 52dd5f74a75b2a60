import Engine
import Foundation
import JSON
import XCTest

/// Every golden case produced by real PyTorch + MMEngine (`shared/golden/torchref.py`), through the engine.
final class GoldenCaseTests: XCTestCase {
    /// `golden/`: the shared golden cases; `extra/`: more cases we generated with the same `torchref.py`.
    static let suites = ["golden", "extra"]

    static func caseDirectories() -> [URL] {
        suites.flatMap { suite -> [URL] in
            let root = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/\(suite)")
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).sorted()
            return names.map { root.appendingPathComponent($0) }
                .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("expected.json").path) }
        }
    }

    func testThereAreGoldenCases() {
        XCTAssertGreaterThanOrEqual(Self.caseDirectories().count, 28)
    }

    func testEveryGoldenCaseSafetensors() throws {
        var failures: [String] = []
        for dir in Self.caseDirectories() {
            let problems = try GoldenCase(directory: dir).check(format: .safetensors)
            if !problems.isEmpty { failures.append("\(dir.lastPathComponent):\n  " + problems.prefix(8).joined(separator: "\n  ")) }
        }
        XCTAssertTrue(failures.isEmpty, failures.joined(separator: "\n"))
    }

    /// Every case again with tiny chunks (element budgets that are not multiples of 16, and smaller than 16 for float64):
    /// the same bytes as the default (whole-tensor for these small models) stream, in both formats, and as expected.safetensors.
    func testEveryGoldenCaseInSmallChunks() throws {
        var failures: [String] = []
        var compared = 0
        for dir in Self.caseDirectories() {
            let golden = GoldenCase(directory: dir)
            for chunk in [76, 200, 1000] {
                let problems = try golden.check(format: .safetensors, chunkBytes: chunk)
                if !problems.isEmpty { failures.append("\(dir.lastPathComponent) chunk \(chunk):\n  " + problems.prefix(8).joined(separator: "\n  ")) }
            }
            guard let (spec, options) = try golden.acceptedSpec() else { continue }
            for format in [CheckpointFormat.safetensors, .pytorch] {
                let job = try Engine.prepare(spec, options: options, defaultFormat: format)
                let whole = try golden.drain(job, chunkBytes: 1 << 30)
                for chunk in [1, 76, 200, 1000] {
                    let chunked = try golden.drain(job, chunkBytes: chunk, readSize: 997)
                    compared += 1
                    if chunked != whole { failures.append("\(dir.lastPathComponent) \(format) chunk \(chunk): bytes differ from the whole-tensor stream") }
                }
            }
        }
        XCTAssertGreaterThan(compared, 100)
        XCTAssertTrue(failures.isEmpty, failures.joined(separator: "\n"))
    }

    /// Every case through `produce`, the HTTP layer's path (in-place generation, prefixes in the headroom, packed
    /// entries, long headers as pieces of their own, the copy fallback): the same bytes as `read`, both formats.
    func testEveryGoldenCaseThroughPieces() throws {
        var failures: [String] = []
        var compared = 0
        for dir in Self.caseDirectories() {
            let golden = GoldenCase(directory: dir)
            guard let (spec, options) = try golden.acceptedSpec() else { continue }
            for format in [CheckpointFormat.safetensors, .pytorch] {
                let job = try Engine.prepare(spec, options: options, defaultFormat: format)
                let whole = try golden.drain(job, chunkBytes: 1 << 30)
                for size in pieceSizes {
                    compared += 1
                    if try drainPieces(job, pieceBytes: size) != whole { failures.append("\(dir.lastPathComponent) \(format) pieces of \(size)") }
                }
                compared += 1
                if try drainPieces(job, pieceBytes: 1000, chunkBytes: 4096) != whole {
                    failures.append("\(dir.lastPathComponent) \(format): copy fallback")
                }
            }
        }
        XCTAssertGreaterThan(compared, 400)
        XCTAssertTrue(failures.isEmpty, failures.joined(separator: "\n"))
    }
}

/// One case folder: spec.json, expected.json, expected.safetensors.
struct GoldenCase {
    let directory: URL

    /// The spec and options, or nil for a case that expects a rejection.
    func acceptedSpec() throws -> (JSONValue, EngineOptions)? {
        let spec = try JSONCodec.parse([UInt8](Data(contentsOf: directory.appendingPathComponent("spec.json"))))
        let expected = try JSONCodec.parse([UInt8](Data(contentsOf: directory.appendingPathComponent("expected.json"))))
        if let error = expected.objectValue?["error"], error != .null { return nil }
        return (spec, EngineOptions(checkpointDirectory: directory.path))
    }

    func check(format: CheckpointFormat, chunkBytes: Int = CheckpointStream.defaultChunkBytes) throws -> [String] {
        let spec = try JSONCodec.parse([UInt8](Data(contentsOf: directory.appendingPathComponent("spec.json"))))
        let expected = try JSONCodec.parse([UInt8](Data(contentsOf: directory.appendingPathComponent("expected.json"))))
        let options = EngineOptions(checkpointDirectory: directory.path)
        if let error = expected.objectValue?["error"], error != .null {
            do {
                _ = try Engine.prepare(spec, options: options)
                return ["expected rejection (\(error.stringValue ?? "")) but the engine accepted the spec"]
            } catch {
                return []
            }
        }
        let job: PreparedJob
        do { job = try Engine.prepare(spec, options: options) } catch { return ["engine rejected the spec: \(error)"] }
        let bytes = try drain(job, chunkBytes: chunkBytes)
        if UInt64(bytes.count) != job.contentLength { return ["wrote \(bytes.count) bytes, planned \(job.contentLength)"] }
        let got = try SafetensorsFile(bytes: bytes)
        let want = try SafetensorsFile(path: directory.appendingPathComponent("expected.safetensors").path)
        // float32 TruncNormal is bit-exact (ErfinvMKL reproduces MKL's vmsErfInv); float64 storage runs MKL's vmdErfInv,
        // which our double erfinv matches only to ≈1 ulp, so a spec with a float64 TruncNormal tensor keeps some leeway.
        let specText = try String(contentsOf: directory.appendingPathComponent("spec.json"), encoding: .utf8)
        let loose = specText.contains("TruncNormal") && specText.contains("\"float64\"")
        var problems: [String] = []
        let keys = expected.objectValue!["keys"]!.arrayValue!.map { $0.stringValue! }
        if got.names != keys { problems.append("keys differ:\n    got  \(got.names)\n    want \(keys)") }
        for k in keys {
            guard let g = got.tensors[k], let w = want.tensors[k] else { continue }
            if g.dtype != w.dtype || g.shape != w.shape {
                problems.append("\(k): got \(g.dtype)\(g.shape), want \(w.dtype)\(w.shape)")
                continue
            }
            if g.bytes == w.bytes { continue }
            let (differing, maxULP) = ulpDifference(dtype: w.dtype, g.bytes, w.bytes)
            let count = max(1, w.bytes.count / max(1, elementSize(w.dtype)))
            if loose && maxULP <= 2 && Double(differing) / Double(count) <= 0.001 { continue }
            problems.append("\(k): \(differing)/\(count) elements differ, max \(maxULP) ulp")
        }
        // The embedded report: order and MMEngine's init_info strings.
        guard let raw = got.metadata["init_report"], case .object(let report) = try JSONCodec.parse(raw) else {
            return problems + ["no init_report in __metadata__"]
        }
        let tensors = report["tensors"]!.arrayValue!.map { $0.objectValue! }
        let order = tensors.map { $0["name"]!.stringValue! }
        if order != keys { problems.append("report order differs from state_dict order") }
        let info = expected.objectValue!["init_info"]!.objectValue!
        for (k, v) in info.entries {
            let mine = tensors.first { $0["name"]!.stringValue == k }?["init_info"]?.stringValue ?? "<none>"
            if mine.trimmingCharacters(in: .whitespaces) != v.stringValue!.trimmingCharacters(in: .whitespaces) {
                problems.append("init_info[\(k)]: got \(mine.debugDescription), want \(v.stringValue!.debugDescription)")
            }
        }
        problems += try checkPretrained(report["pretrained"])
        return problems
    }

    /// `expected_pretrained.json` (make_pretrained_cases.py: MMEngine's log of each Pretrained application) against
    /// the report's `pretrained` section: same applications in the same order, same missing/unexpected/size-mismatch keys.
    func checkPretrained(_ got: JSONValue?) throws -> [String] {
        let url = directory.appendingPathComponent("expected_pretrained.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        let want = try JSONCodec.parse([UInt8](Data(contentsOf: url))).arrayValue!
        let mine = got?.arrayValue ?? []
        guard mine.count == want.count else { return ["report lists \(mine.count) Pretrained applications, MMEngine logged \(want.count)"] }
        var problems: [String] = []
        for (i, (g, w)) in zip(mine, want).enumerated() {
            for field in ["checkpoint", "prefix", "missing", "unexpected", "size_mismatch"] {
                let a = g.objectValue?[field] ?? .null
                let b = w.objectValue?[field] ?? .null
                if a != b { problems.append("pretrained[\(i)].\(field): got \(JSONCodec.serialize(a)), want \(JSONCodec.serialize(b))") }
            }
        }
        return problems
    }

    func drain(_ job: PreparedJob, chunkBytes: Int = CheckpointStream.defaultChunkBytes, readSize: Int = 1 << 16) throws -> [UInt8] {
        try EngineTests.drain(job, chunkBytes: chunkBytes, readSize: readSize)
    }
}

func elementSize(_ dtype: String) -> Int {
    switch dtype {
    case "F64", "I64": 8
    case "F32", "I32": 4
    case "F16", "BF16": 2
    default: 1
    }
}

/// Elements that differ and the largest distance in units in the last place.
func ulpDifference(dtype: String, _ a: [UInt8], _ b: [UInt8]) -> (Int, Int) {
    let size = elementSize(dtype)
    guard a.count == b.count, size > 1 else { return (a == b ? 0 : a.count, Int.max) }
    var differing = 0
    var maxULP = 0
    for i in stride(from: 0, to: a.count, by: size) {
        var x: Int64 = 0
        var y: Int64 = 0
        for j in 0..<size {
            x |= Int64(a[i + j]) << (8 * j)
            y |= Int64(b[i + j]) << (8 * j)
        }
        if x == y { continue }
        differing += 1
        let bits = size * 8
        func ordered(_ v: Int64) -> Int64 {
            let sign = (v >> (bits - 1)) & 1
            let mag = v & (Int64.max >> (64 - bits))
            return sign == 1 ? -mag : mag  // sign-magnitude to a monotonic line
        }
        maxULP = max(maxULP, Int(clamping: (ordered(x) &- ordered(y)).magnitude))
    }
    return (differing, maxULP)
}
