import JSON
import Foundation
import XCTest
@testable import Checkpoints
import Tensors

final class WriterTests: XCTestCase {
    /// Every supported dtype, a 0-dim tensor, an empty tensor, int64/bool buffers, non-ASCII and JSON-special names.
    static let mixedEntries: [CheckpointEntry] = [
        CheckpointEntry(name: "conv.weight", dtype: .float32, shape: [4, 3, 3, 3]),
        CheckpointEntry(name: "conv.bias", dtype: .float32, shape: [4]),
        CheckpointEntry(name: "bn.num_batches_tracked", dtype: .int64, shape: []),
        CheckpointEntry(name: "half", dtype: .float16, shape: [3, 5]),
        CheckpointEntry(name: "brain", dtype: .bfloat16, shape: [7]),
        CheckpointEntry(name: "double", dtype: .float64, shape: [2, 2]),
        CheckpointEntry(name: "empty", dtype: .float32, shape: [0, 3]),
        CheckpointEntry(name: "mask", dtype: .bool, shape: [5]),
        CheckpointEntry(name: "idx", dtype: .int32, shape: [3]),
        CheckpointEntry(name: "ids", dtype: .int64, shape: [6]),
        CheckpointEntry(name: "naïve \"q\"\\x\n.w", dtype: .float32, shape: [1, 1, 1, 1, 2]),
    ]

    func spec(_ entries: [CheckpointEntry], metadata: [String: String] = [:], extra: [String: String] = [:]) -> [String: Any] {
        ["entries": entries.enumerated().map { ["name": $1.name, "dtype": $1.dtype.rawValue, "shape": $1.shape, "index": $0] as [String: Any] },
         "metadata": metadata, "extra": extra]
    }

    func pythonVerify(_ kind: String, _ path: String, _ spec: [String: Any], file: StaticString = #filePath, line: UInt = #line) throws {
        let python = try requirePythonWithTorch("no python with torch; structural checks only")
        let specPath = path + ".spec.json"
        try JSONSerialization.data(withJSONObject: spec).write(to: URL(fileURLWithPath: specPath))
        let r = runProcess(python, [fixturePath("verify_written.py"), kind, path, specPath])
        XCTAssertEqual(r.status, 0, r.output, file: file, line: line)
        XCTAssertTrue(r.output.hasSuffix("OK\n"), r.output, file: file, line: line)
    }

    // MARK: safetensors

    func parseSafetensorsHeader(_ bytes: [UInt8]) throws -> (n: Int, json: [String: Any]) {
        var r = LEReader(bytes)
        let n = Int(r.u64()!)
        let header = Data(bytes[8 ..< 8 + n])
        let json = try JSONSerialization.jsonObject(with: header) as! [String: Any]
        return (n, json)
    }

    func testSafetensorsLayoutAndValues() throws {
        let entries = Self.mixedEntries
        var calls = 0
        var w = SafetensorsWriter(entries: entries) { ranges in
            calls += 1
            return [(key: "init_report", value: "{\"ranges\":\"\(ranges.map { "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ","))\"}"),
                    (key: "format", value: "pt")]
        }
        XCTAssertGreaterThanOrEqual(calls, 2)
        let bytes = serialize(&w, count: entries.count) { patternBytes(entries[$0], index: $0) }
        let (n, json) = try parseSafetensorsHeader(bytes)
        XCTAssertEqual(n % 8, 0)
        XCTAssertEqual(bytes[8], UInt8(ascii: "{"))
        // Compact JSON, __metadata__ first, entries in the given order.
        let text = String(decoding: bytes[8 ..< 8 + n], as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("{\"__metadata__\":{\"init_report\":"), text)
        XCTAssertFalse(text.contains(": "))
        var last = text.startIndex
        for e in entries {
            let quoted = JSONCodec.serialize(.string(e.name))
            let r = text.range(of: quoted + ":{\"dtype\"", range: last ..< text.endIndex)
            XCTAssertNotNil(r, e.name)
            last = r?.upperBound ?? last
        }
        // The metadata embeds the final ranges (fixed point reached).
        let meta = json["__metadata__"] as! [String: String]
        let expect = w.dataRanges.map { "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ",")
        XCTAssertEqual(meta["init_report"], "{\"ranges\":\"\(expect)\"}")
        for (i, e) in entries.enumerated() {
            let d = json[e.name] as! [String: Any]
            XCTAssertEqual(d["dtype"] as? String, e.dtype.safetensorsName)
            XCTAssertEqual(d["shape"] as? [Int], e.shape)
            let off = d["data_offsets"] as! [Int]
            XCTAssertEqual(UInt64(8 + n + off[0]) ..< UInt64(8 + n + off[1]), w.dataRanges[i])
            XCTAssertEqual(Array(bytes[Int(w.dataRanges[i].lowerBound) ..< Int(w.dataRanges[i].upperBound)]), patternBytes(e, index: i))
        }
        XCTAssertEqual(w.dataRanges.last!.upperBound, UInt64(bytes.count))

        let dir = temporaryDirectory()
        let path = dir + "/mixed.safetensors"
        writeFile(path, bytes)
        try pythonVerify("safetensors", path, spec(entries, metadata: meta))
    }

    func testSafetensorsEmptyStateDict() throws {
        var w = SafetensorsWriter(entries: []) { _ in [] }
        let bytes = serialize(&w, count: 0) { _ in [] }
        XCTAssertEqual(bytes, [8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8))
        var w2 = SafetensorsWriter(entries: []) { _ in [(key: "k", value: "v")] }
        let bytes2 = serialize(&w2, count: 0) { _ in [] }
        let path = temporaryDirectory() + "/empty.safetensors"
        writeFile(path, bytes2)
        try pythonVerify("safetensors", path, spec([], metadata: ["k": "v"]))
    }

    func testSafetensorsMetadataFixedPointGrowth() throws {
        // The metadata length grows with the header length: the writer pads, never oscillates.
        let entries = (0 ..< 50).map { CheckpointEntry(name: "w\($0)", dtype: .float16, shape: [$0 % 4, 3]) }
        let w = SafetensorsWriter(entries: entries) { ranges in
            [(key: "r", value: String(repeating: "x", count: Int(ranges.first!.lowerBound % 97)))]
        }
        let header = w.header
        var r = LEReader(header)
        let n = Int(r.u64()!)
        XCTAssertEqual(header.count, 8 + n)
        XCTAssertEqual(n % 8, 0)
        XCTAssertEqual(w.dataRanges.first!.lowerBound, UInt64(8 + n))
        let json = try JSONSerialization.jsonObject(with: Data(header[8...])) as! [String: Any]
        XCTAssertEqual((json["__metadata__"] as! [String: String])["r"]!.count, (8 + n) % 97)
    }

    func testSafetensorsPredictedFixedPointMatchesTheIteration() {
        // A report-like metadata (each absolute bound once, escaped into the header as a JSON string) whose bounds
        // cross digit boundaries (9,999 → 10,000, 99,999 → 100,000) as the header grows: the predicted header
        // length must be the one the plain iteration finds, with two metadata calls.
        for (count, nameLength) in [(1, 3), (40, 8), (400, 20), (3000, 12)] {
            let entries = (0 ..< count).map {
                CheckpointEntry(name: String(repeating: "n", count: nameLength) + "\($0)", dtype: .float32, shape: [$0 % 50 + 1, 7])
            }
            func report(_ ranges: [Range<UInt64>]) -> [(key: String, value: String)] {
                [(key: "init_report", value: "{\"tensors\":[" + ranges.map { "{\"byte_range\":[\($0.lowerBound),\($0.upperBound)]}" }.joined(separator: ",") + "]}")]
            }
            var plainCalls = 0, predictedCalls = 0
            let plain = SafetensorsWriter(entries: entries) { plainCalls += 1; return report($0) }
            let predicted = SafetensorsWriter(entries: entries, metadataEmbedsRanges: true) { predictedCalls += 1; return report($0) }
            XCTAssertEqual(predicted.header, plain.header, "\(count) entries")
            XCTAssertEqual(predicted.dataRanges, plain.dataRanges)
            XCTAssertEqual(predictedCalls, 2, "\(count) entries: \(plainCalls) calls without the prediction")
        }
    }

    // MARK: torch zip

    func testTorchZipLayoutAndValues() throws {
        let entries = Self.mixedEntries
        let report = Array("{\"ok\":true}".utf8)
        var seenRanges: [Range<UInt64>] = []
        var w = TorchZipWriter(entries: entries, archiveName: "archive") { ranges in
            seenRanges = ranges
            return [(name: "init_report.json", bytes: report)]
        }
        XCTAssertEqual(seenRanges, w.dataRanges)
        let bytes = serialize(&w, count: entries.count, chunk: 5) { patternBytes(entries[$0], index: $0) }
        for (i, r) in w.dataRanges.enumerated() {
            XCTAssertEqual(r.lowerBound % 64, 0, "entry \(i) aligned")
            XCTAssertEqual(Array(bytes[Int(r.lowerBound) ..< Int(r.upperBound)]), patternBytes(entries[i], index: i))
        }
        XCTAssertEqual(Array(bytes[0 ..< 4]), [0x50, 0x4b, 3, 4])

        let zip = try ZipArchive(ByteSource(bytes: bytes), limits: .default)
        XCTAssertFalse(zip.usesZip64End)
        XCTAssertEqual(zip.entries.map(\.name),
                       ["archive/data.pkl", "archive/.format_version", "archive/.storage_alignment", "archive/byteorder"]
                       + entries.indices.map { "archive/data/\($0)" }
                       + ["archive/init_report.json", "archive/version", "archive/.data/serialization_id"])
        for (k, e) in zip.entries.enumerated() {
            XCTAssertEqual(e.method, 0)
            XCTAssertEqual(e.flags, e.size == 0 ? 0x0800 : 0x0808)
            let range = try zip.dataRange(e)
            XCTAssertEqual(range.lowerBound % 64, 0)
            XCTAssertEqual(crc32(Array(bytes[Int(range.lowerBound) ..< Int(range.upperBound)])), e.crc, e.name)
            if k >= 4 && k < 4 + entries.count { XCTAssertEqual(range, w.dataRanges[k - 4]) }
        }
        XCTAssertEqual(try zip.read(zip.entries.first { $0.name == "archive/version" }!, maxBytes: 10), Array("3\n".utf8))
        XCTAssertEqual(try zip.read(zip.entries.first { $0.name == "archive/init_report.json" }!, maxBytes: 100), report)
        let sid = try zip.read(zip.entries.last!, maxBytes: 100)
        XCTAssertEqual(sid.count, 40)
        XCTAssertTrue(sid.allSatisfy { $0 >= 0x30 && $0 <= 0x39 })

        let path = temporaryDirectory() + "/mixed.pth"
        writeFile(path, bytes)
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/unzip") {
            let r = runProcess("/usr/bin/unzip", ["-t", path])
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertTrue(r.output.contains("No errors detected"), r.output)
        }
        try pythonVerify("torch", path, spec(entries, extra: ["init_report.json": "{\"ok\":true}"]))
    }

    func testTorchZipEmptyStateDictAndCustomArchiveName() throws {
        var w = TorchZipWriter(entries: [], archiveName: "my_model") { _ in [] }
        let bytes = serialize(&w, count: 0) { _ in [] }
        let zip = try ZipArchive(ByteSource(bytes: bytes), limits: .default)
        XCTAssertEqual(zip.entries.first?.name, "my_model/data.pkl")
        let path = temporaryDirectory() + "/empty.pth"
        writeFile(path, bytes)
        try pythonVerify("torch", path, spec([]))
    }

    func testTorchZipManyEntriesBatchesSetItems() throws {
        // > 1000 entries: several SETITEMS batches; key order kept.
        let entries = (0 ..< 2100).map { CheckpointEntry(name: "layer.\(2100 - $0).w", dtype: $0 % 3 == 0 ? .float16 : .float32, shape: [$0 % 5]) }
        var w = TorchZipWriter(entries: entries) { _ in [] }
        let bytes = serialize(&w, count: entries.count, chunk: 1 << 20) { patternBytes(entries[$0], index: $0) }
        let path = temporaryDirectory() + "/many.pth"
        writeFile(path, bytes)
        try pythonVerify("torch", path, spec(entries))
    }

    func testPickleIntegerEncodings() {
        func enc(_ v: Int) -> [UInt8] { var p = PickleWriter(); p.int(v); return p.bytes }
        XCTAssertEqual(enc(0), [0x4b, 0])
        XCTAssertEqual(enc(255), [0x4b, 255])
        XCTAssertEqual(enc(256), [0x4d, 0, 1])
        XCTAssertEqual(enc(65536), [0x4a, 0, 0, 1, 0])
        XCTAssertEqual(enc(-1), [0x4a, 0xff, 0xff, 0xff, 0xff])
        XCTAssertEqual(enc(Int(Int32.max)), [0x4a, 0xff, 0xff, 0xff, 0x7f])
        XCTAssertEqual(enc(1 << 31), [0x8a, 5, 0, 0, 0, 0x80, 0])
        XCTAssertEqual(enc(1 << 40), [0x8a, 6, 0, 0, 0, 0, 0, 1])
        XCTAssertEqual(enc(-(1 << 40)), [0x8a, 6, 0, 0, 0, 0, 0, 0xff])
        XCTAssertEqual(enc(Int.min), [0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x80])
        XCTAssertEqual(contiguousStrides([2, 0, 3]), [3, 3, 1])
        XCTAssertEqual(contiguousStrides([3, 0]), [1, 1])
        XCTAssertEqual(contiguousStrides([]), [])
    }
}
