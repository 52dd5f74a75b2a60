import Foundation
import XCTest
@testable import Checkpoints
import Tensors

/// Minimal stored zip (no descriptors) for hand-made archives.
func makeZip(_ records: [(name: String, bytes: [UInt8])]) -> [UInt8] {
    var out: [UInt8] = [], cd: [UInt8] = []
    for r in records {
        let name = Array(r.name.utf8), crc = crc32(r.bytes), lho = UInt32(out.count)
        out.appendLE32(0x0403_4b50); out.appendLE16(20); out.appendLE16(0); out.appendLE16(0); out.appendLE32(0)
        out.appendLE32(crc); out.appendLE32(UInt32(r.bytes.count)); out.appendLE32(UInt32(r.bytes.count))
        out.appendLE16(UInt16(name.count)); out.appendLE16(0); out += name; out += r.bytes
        cd.appendLE32(0x0201_4b50); cd.appendLE16(20); cd.appendLE16(20); cd.appendLE16(0); cd.appendLE16(0); cd.appendLE32(0)
        cd.appendLE32(crc); cd.appendLE32(UInt32(r.bytes.count)); cd.appendLE32(UInt32(r.bytes.count))
        cd.appendLE16(UInt16(name.count)); cd.appendLE16(0); cd.appendLE16(0); cd.appendLE16(0); cd.appendLE16(0); cd.appendLE32(0)
        cd.appendLE32(lho); cd += name
    }
    let cdOffset = UInt32(out.count)
    out += cd
    out.appendLE32(0x0605_4b50); out.appendLE16(0); out.appendLE16(0)
    out.appendLE16(UInt16(records.count)); out.appendLE16(UInt16(records.count))
    out.appendLE32(UInt32(cd.count)); out.appendLE32(cdOffset); out.appendLE16(0)
    return out
}

func torchZip(pickle: [UInt8], storages: [(key: String, bytes: [UInt8])] = []) -> [UInt8] {
    makeZip([("archive/data.pkl", pickle)] + storages.map { ("archive/data/" + $0.key, $0.bytes) } + [("archive/version", Array("3\n".utf8))])
}

/// Pickle assembly helpers.
struct P {
    var b: [UInt8] = [0x80, 2]
    mutating func raw(_ x: [UInt8]) { b += x }
    mutating func op(_ c: Character) { b.append(c.asciiValue!) }
    mutating func global(_ m: String, _ n: String) { op("c"); b += Array("\(m)\n\(n)\n".utf8) }
    mutating func str(_ s: String) { op("X"); b.appendLE32(UInt32(s.utf8.count)); b += Array(s.utf8) }
    mutating func int(_ i: Int) { op("J"); b.appendLE32(UInt32(bitPattern: Int32(i))) }
    /// Pushes `os.system(command)`.
    mutating func osSystem(_ command: String) { global("os", "system"); str(command); raw([0x85]); op("R") }
    /// Pushes `_rebuild_tensor_v2(storage-on-stack..., 0, (n,), (1,), False, OrderedDict())`: call after pushing the storage.
    mutating func rebuildAround(_ pushStorage: (inout P) -> Void, count n: Int) {
        global("torch._utils", "_rebuild_tensor_v2"); op("(")
        pushStorage(&self)
        int(0); int(n); raw([0x85]); int(1); raw([0x85]); raw([0x89]); global("collections", "OrderedDict"); op(")"); op("R")
        op("t"); op("R")
    }
    mutating func floatStorage(key: String, count n: Int) {
        op("("); str("storage"); global("torch", "FloatStorage"); str(key); str("cpu"); int(n); op("t"); op("Q")
    }
}

final class HostileInputTests: XCTestCase {
    func marker() -> String {
        let path = NSTemporaryDirectory() + "checkpoints-pwned-" + UUID().uuidString
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        return path
    }

    func expectError(_ kind: CheckpointReadError.Kind?, _ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) {
        do {
            try body()
            XCTFail("expected an error", file: file, line: line)
        } catch let e as CheckpointReadError {
            if let kind { XCTAssertEqual(e.kind, kind, e.message, file: file, line: line) }
            XCTAssertFalse(e.message.isEmpty)
        } catch { XCTFail("unexpected \(error)", file: file, line: line) }
    }

    func testHostileFixtureWrittenByPythonExecutesNothing() {
        let ran = "/tmp/checkpoints-hostile-fixture-ran"
        try? FileManager.default.removeItem(atPath: ran)
        expectError(.notAStateDict) { _ = try CheckpointReader.load(path: fixturePath("hostile_os_system.pth")) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: ran))
    }

    func testOsSystemNextToTensorsIsInert() throws {
        let m = marker()
        var p = P()
        p.op("}"); p.op("(")
        p.str("w"); p.rebuildAround({ $0.floatStorage(key: "0", count: 2) }, count: 2)
        p.str("evil"); p.osSystem("touch " + m)
        // getattr(os, 'system')(cmd): a REDUCE on a placeholder is a placeholder.
        p.str("evil2"); p.global("builtins", "getattr"); p.global("os", "__dict__"); p.str("system"); p.raw([0x86]); p.op("R")
        p.str("touch " + m); p.raw([0x85]); p.op("R")
        p.op("u"); p.op(".")
        let file = torchZip(pickle: p.b, storages: [("0", [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40])])
        let c = try CheckpointReader.load(bytes: file)
        XCTAssertEqual(c.stateDict.map(\.key), ["w"])
        XCTAssertEqual(try c.readFloat32(c.stateDict[0].tensor), [1, 2])
        XCTAssertEqual(c.otherEntries.map(\.key), ["evil", "evil2"])
        XCTAssertTrue(c.otherEntries[0].description.contains("os.system"), c.otherEntries[0].description)
        XCTAssertFalse(FileManager.default.fileExists(atPath: m))
    }

    func testTensorDependingOnPlaceholderIsAClearError() {
        let m = marker()
        var p = P()
        p.op("}"); p.str("w")
        p.rebuildAround({ $0.osSystem("touch " + m) }, count: 1)
        p.op("s"); p.op(".")
        expectError(.unsafeContent) { _ = try CheckpointReader.load(bytes: torchZip(pickle: p.b)) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: m))
    }

    func testLegacyContainerWithHostilePickle() {
        let m = marker()
        var obj = P()
        obj.op("}"); obj.str("x"); obj.osSystem("touch " + m); obj.op("s"); obj.op(".")
        var file = CheckpointReader.legacyMagic + [0x2e]
        file += [0x80, 2, 0x4d, 0xe9, 0x03, 0x2e]         // 1001
        file += [0x80, 2, 0x7d, 0x2e]                     // {}
        file += obj.b
        file += [0x80, 2, 0x5d, 0x2e]                     // []
        expectError(.notAStateDict) { _ = try CheckpointReader.load(bytes: file) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: m))
    }

    func testTupleNestingBomb() {
        var p = P()
        p.op(")")
        p.raw([UInt8](repeating: 0x85, count: 200_000))
        p.op(".")
        expectError(.limitExceeded) { _ = try CheckpointReader.load(bytes: torchZip(pickle: p.b)) }
    }

    func testTopDownListChainDoesNotOverflowTheStack() {
        // Depth grows below already-inserted lists (memo + POP), so the insertion-time depth check cannot see it;
        // the VM's iterative teardown must still free 200,000 nested lists without recursing.
        var p = P()
        p.raw([0x5d, 0x71, 0x00, 0x71, 0x01])      // ] q0 q1
        for _ in 0 ..< 200_000 { p.raw([0x5d, 0x71, 0x01, 0x61, 0x30, 0x68, 0x01]) }   // ] q1 a 0 h1
        p.raw([0x30, 0x68, 0x00, 0x2e])             // 0 h0 .
        expectError(.notAStateDict) { _ = try CheckpointReader.load(bytes: torchZip(pickle: p.b)) }
    }

    func testMarkBombAndOpsLimit() {
        var p = P()
        p.raw([UInt8](repeating: 0x28, count: 100_000))
        var limits = ReadLimits()
        limits.maxPickleStack = 50_000
        expectError(.limitExceeded) { _ = try CheckpointReader.load(bytes: torchZip(pickle: p.b), limits: limits) }
        var q = P()
        q.raw([UInt8](repeating: 0x4e, count: 1000))  // None × 1000
        limits = ReadLimits()
        limits.maxPickleOps = 500
        expectError(.limitExceeded) { _ = try CheckpointReader.load(bytes: torchZip(pickle: q.b), limits: limits) }
    }

    func testExpandedViewBombAndOutOfBoundsView() {
        for (shape, stride) in [(1 << 40, 0), (3, 1)] {
            var p = P()
            p.op("}"); p.str("w")
            p.global("torch._utils", "_rebuild_tensor_v2"); p.op("(")
            p.floatStorage(key: "0", count: 2)
            p.int(0); p.raw([0x8a, 6, 0, 0, 0, 0, 0, 1]); p.b[p.b.count - 8 ..< p.b.count] = ArraySlice([0x8a, 6] + withUnsafeBytes(of: UInt64(shape).littleEndian) { Array($0.prefix(6)) })
            p.raw([0x85]); p.int(stride); p.raw([0x85]); p.raw([0x89]); p.global("collections", "OrderedDict"); p.op(")"); p.op("R")
            p.op("t"); p.op("R"); p.op("s"); p.op(".")
            expectError(.unsafeContent) { _ = try CheckpointReader.load(bytes: torchZip(pickle: p.b, storages: [("0", [UInt8](repeating: 0, count: 8))])) }
        }
    }

    func testMissingStorageRecordAndUnknownOpcode() {
        var p = P()
        p.op("}"); p.str("w"); p.rebuildAround({ $0.floatStorage(key: "7", count: 1) }, count: 1); p.op("s"); p.op(".")
        expectError(.malformed) { _ = try CheckpointReader.load(bytes: torchZip(pickle: p.b)) }
        expectError(.unsupported) { _ = try CheckpointReader.load(bytes: torchZip(pickle: [0x80, 2, 0x69, 0x2e])) }   // INST
        expectError(.unsupported) { _ = try CheckpointReader.load(bytes: torchZip(pickle: [0x80, 9, 0x4e, 0x2e])) }   // protocol 9
    }

    func testTruncatedFilesAlwaysFailCleanly() throws {
        for name in ["zip_basic.pth", "legacy_basic.pth", "official.safetensors"] {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixturePath(name))))
            for cut in stride(from: 0, to: bytes.count, by: 7) {
                do {
                    let c = try CheckpointReader.load(bytes: Array(bytes[..<cut]))
                    // A legacy file cut inside trailing bytes nobody needs could still load; every tensor must read.
                    for (_, t) in c.stateDict { _ = try c.readFloat32(t) }
                    XCTAssertEqual(name, "legacy_basic.pth", "\(name) cut at \(cut) loaded")
                } catch {
                    XCTAssertFalse(error.message.isEmpty)
                }
            }
        }
        expectError(.truncated) {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixturePath("zip_basic.pth"))))
            _ = try CheckpointReader.load(bytes: Array(bytes[..<(bytes.count / 2)]))
        }
    }

    func testRandomCorruptionNeverCrashes() throws {
        var rng = SplitMix(seed: 42)
        for name in ["zip_basic.pth", "legacy_basic.pth", "official.safetensors", "mmengine_runner.pth", "protocol4.pth"] {
            let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixturePath(name))))
            for _ in 0 ..< 300 {
                var bytes = original
                for _ in 0 ..< Int(rng.next() % 4) + 1 {
                    let i = Int(rng.next() % UInt64(bytes.count))
                    bytes[i] = rng.next() % 3 == 0 ? 0xFF : UInt8(truncatingIfNeeded: rng.next())
                }
                do {
                    let c = try CheckpointReader.load(bytes: bytes)
                    for (_, t) in c.stateDict { _ = try c.readFloat32(t) }
                } catch {}
            }
        }
    }

    func testZipStructureLies() throws {
        // (torch's own files always carry a ZIP64 end record, which takes precedence; use a classic-EOCD archive.)
        var pk = P()
        pk.op("}"); pk.str("w"); pk.rebuildAround({ $0.floatStorage(key: "0", count: 1) }, count: 1); pk.op("s"); pk.op(".")
        let good = torchZip(pickle: pk.b, storages: [("0", [0, 0, 0x80, 0x3f])])
        XCTAssertEqual(try CheckpointReader.load(bytes: good).stateDict.count, 1)
        // Find the EOCD and make it point past the end / claim huge counts.
        let eocd = (0 ... good.count - 22).last { good[$0] == 0x50 && good[$0 + 1] == 0x4b && good[$0 + 2] == 5 && good[$0 + 3] == 6 }!
        var a = good; a[eocd + 16 ..< eocd + 20] = [0xF0, 0xFF, 0xFF, 0x7F]          // CD offset
        expectError(.truncated) { _ = try CheckpointReader.load(bytes: a) }
        var b = good; b[eocd + 8 ..< eocd + 12] = [0xFF, 0xFF, 0xFF, 0xFF]           // entry counts 65535
        expectError(nil) { _ = try CheckpointReader.load(bytes: b) }
        // A ZIP64 locator pointing to garbage.
        var c = Array(good[..<eocd])
        c.appendLE32(0x0706_4b50); c.appendLE32(0); c.appendLE64(1 << 62); c.appendLE32(1)
        c += good[eocd...]
        expectError(.malformed) { _ = try CheckpointReader.load(bytes: c) }
        // A compressed record is refused, not inflated.
        var z = makeZip([("archive/data.pkl", [0x80, 2, 0x7d, 0x2e]), ("archive/version", Array("3\n".utf8))])
        z[8] = 8   // method deflate in the first local header
        let cdStart = (0 ... z.count - 4).first { z[$0] == 0x50 && z[$0 + 1] == 0x4b && z[$0 + 2] == 1 && z[$0 + 3] == 2 }!
        z[cdStart + 10] = 8
        expectError(.unsupported) { _ = try CheckpointReader.load(bytes: z) }
        // TorchScript archives are recognized and refused.
        let ts = makeZip([("m/data.pkl", [0x80, 2, 0x7d, 0x2e]), ("m/constants.pkl", [0x80, 2, 0x29, 0x2e]), ("m/version", [0x33])])
        expectError(.unrecognizedFormat) { _ = try CheckpointReader.load(bytes: ts) }
    }

    func testSafetensorsValidation() {
        func file(_ header: String, data: Int) -> [UInt8] {
            var b: [UInt8] = []
            b.appendLE64(UInt64(header.utf8.count)); b += Array(header.utf8); b += [UInt8](repeating: 0, count: data)
            return b
        }
        let ok = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        XCTAssertNoThrow(try CheckpointReader.load(bytes: file(ok, data: 8)))
        expectError(.malformed) { _ = try CheckpointReader.load(bytes: file(ok, data: 12)) }     // trailing bytes
        expectError(.truncated) { _ = try CheckpointReader.load(bytes: file(ok, data: 4)) }
        expectError(.malformed) { _ = try CheckpointReader.load(bytes: file(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: 8)) }
        expectError(.malformed) { _ = try CheckpointReader.load(bytes: file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: 8)) }
        expectError(.malformed) { _ = try CheckpointReader.load(bytes: file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"x":1}}"#, data: 8)) }
        expectError(.malformed) { _ = try CheckpointReader.load(bytes: file(#"{"a":{"dtype":"Q9","shape":[2],"data_offsets":[0,8]}}"#, data: 8)) }
        expectError(.malformed) { _ = try CheckpointReader.load(bytes: file(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}}"#, data: 8)) }
        var limits = ReadLimits()
        limits.maxSafetensorsHeaderBytes = 16
        expectError(.limitExceeded) { _ = try CheckpointReader.load(bytes: file(ok, data: 8), limits: limits) }
        let u8 = #"{"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},"b":{"dtype":"I64","shape":[],"data_offsets":[3,11]}}"#
        let c = try? CheckpointReader.load(bytes: file(u8, data: 11))
        XCTAssertEqual(c?.stateDict.map(\.key), ["b"])
        XCTAssertEqual(c?.otherEntries.map(\.key), ["a"])
        expectError(.unrecognizedFormat) { _ = try CheckpointReader.load(bytes: Array("hello world, not a checkpoint".utf8)) }
        expectError(.io) { _ = try CheckpointReader.load(path: "/nonexistent/x.pth") }
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
