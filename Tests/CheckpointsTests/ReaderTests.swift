import Foundation
import XCTest
@testable import Checkpoints
import Tensors

/// Readers against files written by real torch / safetensors (Fixtures/make_fixtures.py); expected values come from
/// `<fixture>.expected.safetensors`, written by the official safetensors library from the tensors torch loaded.
final class ReaderTests: XCTestCase {
    func load(_ name: String) throws -> LoadedCheckpoint { try CheckpointReader.load(path: fixturePath(name)) }

    /// Every tensor of the expected file matches the fixture's (bytes, dtype, shape) and its `@f32` twin matches `readFloat32`.
    func assertMatchesExpected(_ ckpt: LoadedCheckpoint, _ fixture: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let exp = try load(fixture + ".expected.safetensors")
        XCTAssertEqual(exp.format, .safetensors)
        var checked = 0
        for (key, e) in exp.stateDict where !key.hasSuffix("@f32") {
            guard let t = ckpt.tensor(named: key) else { XCTFail("\(fixture): missing \(key)", file: file, line: line); continue }
            XCTAssertEqual(t.dtype, e.dtype, "\(fixture): \(key)", file: file, line: line)
            XCTAssertEqual(t.shape, e.shape, "\(fixture): \(key)", file: file, line: line)
            XCTAssertEqual(try ckpt.readBytes(t), try exp.readBytes(e), "\(fixture): \(key) bytes", file: file, line: line)
            let f32 = exp.tensor(named: key + "@f32")!
            XCTAssertEqual(try ckpt.readFloat32(t).map(\.bitPattern), try exp.readFloat32(f32).map(\.bitPattern), "\(fixture): \(key) as float32", file: file, line: line)
            checked += 1
        }
        XCTAssertEqual(checked, ckpt.stateDict.count, "\(fixture): every tensor checked", file: file, line: line)
    }

    static let basicKeys = ["conv.weight", "conv.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
                            "bn.num_batches_tracked", "fc.weight", "fc.bias", "extra.half", "extra.bf16", "extra.double",
                            "extra.int32", "extra.int64", "extra.mask", "extra.empty", "extra.scalar", "view.base",
                            "view.transposed", "view.row", "view.expanded", "naïve.ключ"]

    func checkBasic(_ name: String, format: CheckpointFormat) throws {
        let c = try load(name)
        XCTAssertEqual(c.format, format)
        XCTAssertEqual(c.stateDict.map(\.key), Self.basicKeys)
        XCTAssertEqual(c.topLevelKeys, Self.basicKeys)
        XCTAssertNil(c.stateDictKey)
        XCTAssertTrue(c.otherEntries.isEmpty, "\(c.otherEntries)")
        let base = c.tensor(named: "view.base")!, tr = c.tensor(named: "view.transposed")!
        let row = c.tensor(named: "view.row")!, ex = c.tensor(named: "view.expanded")!
        XCTAssertEqual(tr.storageKey, base.storageKey)
        XCTAssertEqual(tr.storageByteRange, base.storageByteRange)
        XCTAssertEqual(tr.strides, [1, 6])
        XCTAssertFalse(tr.isContiguous)
        XCTAssertEqual(row.storageOffset, 12)
        XCTAssertTrue(row.isContiguous)
        XCTAssertEqual(ex.strides, [1, 0])
        XCTAssertEqual(try c.readFloat32(ex), [1, 1, 1, 2, 2, 2])
        XCTAssertEqual(c.tensor(named: "bn.num_batches_tracked")!.shape, [])
        XCTAssertEqual(try c.readInt64(c.tensor(named: "bn.num_batches_tracked")!), [7])
        XCTAssertEqual(try c.readInt64(c.tensor(named: "extra.int64")!), [-(1 << 40), 3, 1 << 62])
        XCTAssertEqual(try c.readFloat64(c.tensor(named: "extra.int32")!), [-5, 0, 2147483647])
        XCTAssertEqual(c.tensor(named: "extra.empty")!.shape, [0, 3])
        XCTAssertEqual(try c.readFloat32(c.tensor(named: "extra.empty")!), [])
        XCTAssertEqual(try c.readFloat32(c.tensor(named: "extra.mask")!), [1, 0, 1, 1])
        try assertMatchesExpected(c, name)
    }

    func testTorchZip() throws { try checkBasic("zip_basic.pth", format: .torchZip) }
    func testTorchLegacy() throws { try checkBasic("legacy_basic.pth", format: .torchLegacy) }
    func testTorchZipPickleProtocol4() throws { try checkBasic("protocol4.pth", format: .torchZip) }

    func testTiedWeightsShareOneStorage() throws {
        let c = try load("tied.pth")
        XCTAssertEqual(c.stateDict.map(\.key), ["embed.weight", "head.weight", "other"])
        let a = c.tensor(named: "embed.weight")!, b = c.tensor(named: "head.weight")!
        XCTAssertEqual(a.storageKey, b.storageKey)
        XCTAssertEqual(a.storageByteRange, b.storageByteRange)
        XCTAssertEqual(a.storageByteRange.lowerBound % 64, 0)
        try assertMatchesExpected(c, "tied.pth")
    }

    func testMMEngineRunnerCheckpoint() throws {
        // torch.load(weights_only=True) refuses this file (numpy objects, a custom class); the reader keeps them inert.
        let c = try load("mmengine_runner.pth")
        XCTAssertEqual(c.topLevelKeys, ["meta", "state_dict", "message_hub", "optimizer", "param_schedulers"])
        XCTAssertEqual(c.stateDictKey, "state_dict")
        XCTAssertEqual(c.stateDict.count, 9)
        XCTAssertTrue(c.stateDict.allSatisfy { $0.key.hasPrefix("module.") })
        XCTAssertEqual(c.stateDict.first?.key, "module.conv.weight")
        try assertMatchesExpected(c, "mmengine_runner.pth")
    }

    func testMMEnginePublishedLegacy() throws {
        let c = try load("mmengine_published_legacy.pth")
        XCTAssertEqual(c.format, .torchLegacy)
        XCTAssertEqual(c.topLevelKeys, ["meta", "state_dict"])
        XCTAssertEqual(c.stateDictKey, "state_dict")
        try assertMatchesExpected(c, "mmengine_published_legacy.pth")
    }

    func testUnsupportedDtypesAreReportedNotLoaded() throws {
        let c = try load("odd_dtypes.pth")
        XCTAssertEqual(c.stateDict.map(\.key), ["f"])
        XCTAssertEqual(c.otherEntries.map(\.key), ["u8", "u16"])
        XCTAssertTrue(c.otherEntries[0].description.contains("uint8"), c.otherEntries[0].description)
        XCTAssertTrue(c.otherEntries[1].description.contains("uint16"), c.otherEntries[1].description)
        XCTAssertEqual(try c.readFloat32(c.stateDict[0].tensor), [1, 1])
    }

    func testOfficialSafetensors() throws {
        let c = try load("official.safetensors")
        XCTAssertEqual(c.format, .safetensors)
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: c.metadata.map { ($0.key, $0.value) }), ["format": "pt", "note": "fixture"])
        XCTAssertEqual(c.stateDict.count, 19)
        try assertMatchesExpected(c, "official.safetensors")
    }

    func testParameterValues() throws {
        let c = try load("parameters.pth")
        XCTAssertEqual(c.stateDict.map(\.key), ["conv.weight", "conv.bias", "bn.weight", "bn.bias", "fc.weight", "fc.bias"])
        try assertMatchesExpected(c, "parameters.pth")
    }

    func testWholeModulePickleIsRejected() {
        XCTAssertThrowsError(try load("whole_module.pth")) { e in
            let e = e as! CheckpointReadError
            XCTAssertEqual(e.kind, .notAStateDict)
            XCTAssertTrue(e.message.contains("Net"), e.message)
        }
    }

    func testWriterOutputRoundTrips() throws {
        let entries = WriterTests.mixedEntries
        var z = TorchZipWriter(entries: entries) { _ in [(name: "init_report.json", bytes: Array("{}".utf8))] }
        let zbytes = serialize(&z, count: entries.count) { patternBytes(entries[$0], index: $0) }
        var s = SafetensorsWriter(entries: entries) { _ in [(key: "k", value: "v")] }
        let sbytes = serialize(&s, count: entries.count) { patternBytes(entries[$0], index: $0) }
        for (bytes, format) in [(zbytes, CheckpointFormat.torchZip), (sbytes, .safetensors)] {
            let c = try CheckpointReader.load(bytes: bytes)
            XCTAssertEqual(c.format, format)
            XCTAssertEqual(c.stateDict.map(\.key), entries.map(\.name))
            for (i, e) in entries.enumerated() {
                let t = c.stateDict[i].tensor
                XCTAssertEqual(t.dtype, e.dtype)
                XCTAssertEqual(t.shape, e.shape)
                XCTAssertEqual(try c.readBytes(t), patternBytes(e, index: i))
                XCTAssertEqual(t.contiguousByteRange, format == .torchZip ? z.dataRanges[i] : s.dataRanges[i])
            }
        }
        let empty = TorchZipWriter(entries: []) { _ in [] }
        var ew = empty
        let c = try CheckpointReader.load(bytes: serialize(&ew, count: 0) { _ in [] })
        XCTAssertTrue(c.stateDict.isEmpty)
    }
}
