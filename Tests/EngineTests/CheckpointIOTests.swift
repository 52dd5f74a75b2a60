import Checkpoints
import Engine
import Foundation
import JSON
import XCTest

/// PyTorch zip output read back by the code-free reader; Pretrained safety at the engine level.
final class CheckpointIOTests: XCTestCase {
    // MARK: - PyTorch zip output

    /// Every non-error golden case as .pth: keys in state_dict order, values byte-equal to the safetensors output,
    /// the init report embedded, the planned length exact.
    func testPyTorchOutputRoundTripsThroughTheReader() throws {
        var checked = 0
        for dir in GoldenCaseTests.caseDirectories() {
            let expected = try JSONCodec.parse([UInt8](Data(contentsOf: dir.appendingPathComponent("expected.json"))))
            if let e = expected.objectValue?["error"], e != .null { continue }
            let spec = try JSONCodec.parse([UInt8](Data(contentsOf: dir.appendingPathComponent("spec.json"))))
            let options = EngineOptions(checkpointDirectory: dir.path)
            let golden = GoldenCase(directory: dir)
            let st = try SafetensorsFile(bytes: golden.drain(try Engine.prepare(spec, options: options, defaultFormat: .safetensors)))
            let job = try Engine.prepare(spec, options: options, defaultFormat: .pytorch)
            XCTAssertEqual(job.format, .pytorch)
            XCTAssertTrue(job.fileName.hasSuffix(".pth"))
            let pth = try golden.drain(job)
            XCTAssertEqual(UInt64(pth.count), job.contentLength, dir.lastPathComponent)
            let c = try CheckpointReader.load(bytes: pth, name: dir.lastPathComponent + ".pth")
            XCTAssertEqual(c.format, .torchZip)
            XCTAssertEqual(c.stateDict.map(\.key), st.names, dir.lastPathComponent)
            XCTAssertEqual(c.stateDict.map(\.key), expected.objectValue!["keys"]!.arrayValue!.map { $0.stringValue! })
            for (key, t) in c.stateDict {
                let want = st.tensors[key]!
                XCTAssertEqual(t.dtype.safetensorsName, want.dtype, "\(dir.lastPathComponent) \(key)")
                XCTAssertEqual(t.shape, want.shape, "\(dir.lastPathComponent) \(key)")
                XCTAssertEqual(try c.readBytes(t), want.bytes, "\(dir.lastPathComponent) \(key)")
            }
            XCTAssertTrue(c.otherEntries.isEmpty)
            XCTAssertNotNil(pth.firstRange(of: Array("archive/init_report.json".utf8)), "no init report in \(dir.lastPathComponent)")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 100)
    }

    // MARK: - Pretrained safety

    /// A folder with one spec-relative checkpoint name, removed after the test.
    func folder() -> String {
        let dir = NSTemporaryDirectory() + "weightinit-engine-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    static func spec(_ checkpoint: String, prefix: String? = nil) -> JSONValue {
        var pre: JSONObject = ["type": "Pretrained", "checkpoint": .string(checkpoint)]
        if let prefix { pre["prefix"] = .string(prefix) }
        return .object([
            "seed": 0,
            "model": .object(["type": "Net", "init_cfg": .object(pre),
                              "children": .object(["fc": .object(["type": "Linear", "in_features": 2, "out_features": 2])])]),
        ])
    }

    /// The engine must refuse `spec` with a checkpoint error whose message contains every part of `contains`.
    func expectRefusal(_ spec: JSONValue, _ options: EngineOptions, contains: [String], within seconds: Double = 10,
                       file: StaticString = #filePath, line: UInt = #line) {
        let start = Date()
        do {
            _ = try Engine.prepare(spec, options: options)
            XCTFail("expected a refusal", file: file, line: line)
        } catch {
            XCTAssertEqual(error.pointer.description, "/model/init_cfg/checkpoint", error.description, file: file, line: line)
            for part in contains { XCTAssertTrue(error.message.contains(part), "'\(part)' not in: \(error.message)", file: file, line: line) }
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), seconds, file: file, line: line)
    }

    /// A valid 2×2 Linear checkpoint (torch zip, written by our own writer; the reader reads any valid zip).
    static func linearCheckpoint() -> [UInt8] { TestZip.torchZip(pickle: TestPickle.linearStateDict(), storages: [("0", floats([1, 2, 3, 4])), ("1", floats([5, 6]))]) }

    static func floats(_ v: [Float]) -> [UInt8] { v.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }

    func testHandMadeCheckpointLoads() throws {
        let dir = folder()
        _ = FileManager.default.createFile(atPath: dir + "/ok.pth", contents: Data(Self.linearCheckpoint()))
        let job = try Engine.prepare(Self.spec("ok.pth"), options: EngineOptions(checkpointDirectory: dir))
        let st = try SafetensorsFile(bytes: GoldenCase(directory: URL(fileURLWithPath: dir)).drain(job))
        XCTAssertEqual(st.tensors["fc.weight"]!.bytes, Self.floats([1, 2, 3, 4]))
        XCTAssertEqual(st.tensors["fc.bias"]!.bytes, Self.floats([5, 6]))
    }

    func testHostilePicklesExecuteNothing() {
        let dir = folder()
        let marker = dir + "/pwned"
        // The whole file is `posix.system("touch marker")`.
        var top = TestPickle()
        top.global("posix", "system"); top.str("touch " + marker); top.raw([0x85]); top.op("R"); top.op(".")
        // A state-dict tensor whose storage is `os.system(...)`.
        var inner = TestPickle()
        inner.op("}"); inner.str("fc.weight")
        inner.rebuild(count: 4) { p in p.global("os", "system"); p.str("touch " + marker); p.raw([0x85]); p.op("R") }
        inner.op("s"); inner.op(".")
        _ = FileManager.default.createFile(atPath: dir + "/top.pth", contents: Data(TestZip.torchZip(pickle: top.b)))
        _ = FileManager.default.createFile(atPath: dir + "/inner.pth", contents: Data(TestZip.torchZip(pickle: inner.b)))
        // Legacy format: the same object as the pickle after the magic number, protocol and sys info.
        var legacy: [UInt8] = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]
        legacy += [0x80, 2, 0x4d, 0xe9, 0x03, 0x2e] + [0x80, 2, 0x7d, 0x2e] + top.b + [0x80, 2, 0x5d, 0x2e]
        _ = FileManager.default.createFile(atPath: dir + "/legacy.pth", contents: Data(legacy))
        let options = EngineOptions(checkpointDirectory: dir)
        expectRefusal(Self.spec("top.pth"), options, contains: ["top.pth", "not a dict"])
        expectRefusal(Self.spec("inner.pth"), options, contains: ["inner.pth", "fc.weight"])
        expectRefusal(Self.spec("legacy.pth"), options, contains: ["legacy.pth"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
    }

    func testPathsOutsideTheCheckpointFolderAreRefused() throws {
        let root = folder()
        let dir = root + "/checkpoints"
        let outside = root + "/outside"
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: outside + "/secret.pth", contents: Data(Self.linearCheckpoint()))
        _ = FileManager.default.createFile(atPath: dir + "/sub/inside.pth", contents: Data(Self.linearCheckpoint()))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.pth", withDestinationPath: outside + "/secret.pth")
        try FileManager.default.createSymbolicLink(atPath: dir + "/linkdir", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: dir + "/inside-link.pth", withDestinationPath: dir + "/sub/inside.pth")
        let options = EngineOptions(checkpointDirectory: dir)
        expectRefusal(Self.spec(outside + "/secret.pth"), options, contains: ["absolute"])
        expectRefusal(Self.spec("~/secret.pth"), options, contains: ["absolute"])
        expectRefusal(Self.spec("../outside/secret.pth"), options, contains: ["'..'"])
        expectRefusal(Self.spec("sub/../../outside/secret.pth"), options, contains: ["'..'"])
        expectRefusal(Self.spec("link.pth"), options, contains: ["outside the checkpoint folder"])
        expectRefusal(Self.spec("linkdir/secret.pth"), options, contains: ["outside the checkpoint folder"])
        expectRefusal(Self.spec("file:///etc/passwd"), options, contains: ["unsupported checkpoint scheme"])
        expectRefusal(Self.spec("sub"), options, contains: ["FileNotFoundError: sub can not be found."])
        // Inside the folder, through a subfolder or a symlink that stays inside: fine.
        _ = try Engine.prepare(Self.spec("sub/inside.pth"), options: options)
        _ = try Engine.prepare(Self.spec("inside-link.pth"), options: options)
        // No checkpoint folder at all.
        do {
            _ = try Engine.prepare(Self.spec("sub/inside.pth"), options: EngineOptions())
            XCTFail("Pretrained without a checkpoint folder must be refused")
        } catch {
            XCTAssertTrue(error.message.contains("--checkpoint-dir"), error.message)
        }
    }

    func testMissingFileNamesThePathLikeMMEngine() {
        let dir = folder()
        expectRefusal(Self.spec("models/resnet.pth"), EngineOptions(checkpointDirectory: dir),
                      contains: ["FileNotFoundError: models/resnet.pth can not be found."])
    }

    /// A checkpoint that fails to load is reported by the request's relative path, never the server's absolute
    /// path of the checkpoint folder (which would reveal its mount point).
    func testLoadFailuresNameTheRequestsPathNotTheServers() throws {
        let dir = folder()
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        let good = Self.linearCheckpoint()
        _ = FileManager.default.createFile(atPath: dir + "/sub/cut.pth", contents: Data(good[..<(good.count / 2)]))
        _ = FileManager.default.createFile(atPath: dir + "/sub/junk.safetensors", contents: Data([16, 0, 0, 0, 0, 0, 0, 0] + Array("{not json}      ".utf8)))
        _ = FileManager.default.createFile(atPath: dir + "/sub/empty.pth", contents: Data())
        for name in ["sub/cut.pth", "sub/junk.safetensors", "sub/empty.pth"] {
            do {
                _ = try Engine.prepare(Self.spec(name), options: EngineOptions(checkpointDirectory: dir))
                XCTFail("\(name) loaded")
            } catch {
                XCTAssertTrue(error.message.contains(name), error.message)
                XCTAssertFalse(error.message.contains(dir), "the server's path in: \(error.message)")
                let real = URL(fileURLWithPath: dir).resolvingSymlinksInPath().path
                XCTAssertFalse(error.message.contains(real), "the server's path in: \(error.message)")
                XCTAssertFalse(error.message.contains(NSTemporaryDirectory()), "the server's path in: \(error.message)")
            }
        }
    }

    func testTruncatedAndBombLikeZipsFailClearlyAndQuickly() throws {
        let dir = folder()
        let good = Self.linearCheckpoint()
        for cut in [good.count / 2, good.count - 10, 30] {
            _ = FileManager.default.createFile(atPath: dir + "/cut\(cut).pth", contents: Data(good[..<cut]))
            expectRefusal(Self.spec("cut\(cut).pth"), EngineOptions(checkpointDirectory: dir), contains: ["cut\(cut).pth"], within: 2)
        }
        // The pickle record declared deflated with a 4 GB uncompressed size.
        var deflated = TestZip.make([("archive/data.pkl", TestPickle.linearStateDict())], method: 8, uncompressedSize: 0xFFFF_FFF0)
        _ = FileManager.default.createFile(atPath: dir + "/deflate.pth", contents: Data(deflated))
        expectRefusal(Self.spec("deflate.pth"), EngineOptions(checkpointDirectory: dir), contains: ["deflate.pth"], within: 2)
        // A stored record claiming 4 GB in a tiny file.
        deflated = TestZip.make([("archive/data.pkl", TestPickle.linearStateDict())], method: 0, uncompressedSize: 0xFFFF_FFF0,
                                compressedSize: 0xFFFF_FFF0)
        _ = FileManager.default.createFile(atPath: dir + "/huge.pth", contents: Data(deflated))
        expectRefusal(Self.spec("huge.pth"), EngineOptions(checkpointDirectory: dir), contains: ["huge.pth"], within: 2)
        // A storage record that claims 2^40 floats behind a tiny data record.
        var p = TestPickle()
        p.op("}"); p.str("fc.weight")
        p.rebuild(count: 4) { $0.floatStorage(key: "0", count: 1 << 40) }
        p.op("s"); p.op(".")
        _ = FileManager.default.createFile(atPath: dir + "/storage.pth",
                                       contents: Data(TestZip.torchZip(pickle: p.b, storages: [("0", Self.floats([1, 2, 3, 4]))])))
        expectRefusal(Self.spec("storage.pth"), EngineOptions(checkpointDirectory: dir), contains: ["storage.pth"], within: 2)
    }
}

// MARK: - hand-made files

/// zlib's crc32 (Checkpoints links libz).
@_silgen_name("crc32")
private func zlibCRC32(_ crc: UInt, _ buf: UnsafePointer<UInt8>?, _ len: UInt32) -> UInt

enum TestZip {
    static func crc(_ b: [UInt8]) -> UInt32 { b.withUnsafeBufferPointer { UInt32(zlibCRC32(0, $0.baseAddress, UInt32($0.count))) } }

    /// A zip of stored records; `method`/sizes may lie to make hostile archives.
    static func make(_ records: [(name: String, bytes: [UInt8])], method: UInt16 = 0, uncompressedSize: UInt32? = nil,
                     compressedSize: UInt32? = nil) -> [UInt8] {
        var out: [UInt8] = [], cd: [UInt8] = []
        func le16(_ v: UInt16, _ a: inout [UInt8]) { a += [UInt8(v & 0xff), UInt8(v >> 8)] }
        func le32(_ v: UInt32, _ a: inout [UInt8]) { for i in 0 ..< 4 { a.append(UInt8((v >> (8 * UInt32(i))) & 0xff)) } }
        for r in records {
            let name = Array(r.name.utf8), c = crc(r.bytes), offset = UInt32(out.count)
            let csize = compressedSize ?? UInt32(r.bytes.count), usize = uncompressedSize ?? UInt32(r.bytes.count)
            le32(0x0403_4b50, &out); le16(20, &out); le16(0, &out); le16(method, &out); le32(0, &out)
            le32(c, &out); le32(csize, &out); le32(usize, &out); le16(UInt16(name.count), &out); le16(0, &out)
            out += name + r.bytes
            le32(0x0201_4b50, &cd); le16(20, &cd); le16(20, &cd); le16(0, &cd); le16(method, &cd); le32(0, &cd)
            le32(c, &cd); le32(csize, &cd); le32(usize, &cd); le16(UInt16(name.count), &cd)
            le16(0, &cd); le16(0, &cd); le16(0, &cd); le16(0, &cd); le32(0, &cd); le32(offset, &cd); cd += name
        }
        let cdOffset = UInt32(out.count)
        out += cd
        le32(0x0605_4b50, &out); le16(0, &out); le16(0, &out); le16(UInt16(records.count), &out); le16(UInt16(records.count), &out)
        le32(UInt32(cd.count), &out); le32(cdOffset, &out); le16(0, &out)
        return out
    }

    static func torchZip(pickle: [UInt8], storages: [(String, [UInt8])] = []) -> [UInt8] {
        make([("archive/data.pkl", pickle)] + storages.map { ("archive/data/" + $0.0, $0.1) } + [("archive/version", Array("3\n".utf8))])
    }
}

/// Pickle protocol-2 assembly.
struct TestPickle {
    var b: [UInt8] = [0x80, 2]
    mutating func raw(_ x: [UInt8]) { b += x }
    mutating func op(_ c: Character) { b.append(c.asciiValue!) }
    mutating func global(_ m: String, _ n: String) { op("c"); b += Array("\(m)\n\(n)\n".utf8) }
    mutating func str(_ s: String) {
        op("X"); let n = UInt32(s.utf8.count); b += [UInt8(n & 0xff), UInt8((n >> 8) & 0xff), UInt8((n >> 16) & 0xff), UInt8(n >> 24)]
        b += Array(s.utf8)
    }
    mutating func int(_ i: Int) { op("J"); let v = UInt32(bitPattern: Int32(i)); b += (0 ..< 4).map { UInt8((v >> (8 * UInt32($0))) & 0xff) } }
    mutating func long(_ i: Int) { b += [0x8a, 8] + withUnsafeBytes(of: Int64(i).littleEndian, Array.init) }
    /// `torch.FloatStorage` persistent id.
    mutating func floatStorage(key: String, count: Int) {
        op("("); str("storage"); global("torch", "FloatStorage"); str(key); str("cpu"); long(count); op("t"); op("Q")
    }
    /// `_rebuild_tensor_v2(<storage>, 0, (count,), (1,), False, OrderedDict())` (1-D), or 2-D `shape`.
    mutating func rebuild(count: Int, shape: [Int]? = nil, _ pushStorage: (inout TestPickle) -> Void) {
        global("torch._utils", "_rebuild_tensor_v2"); op("(")
        pushStorage(&self)
        int(0)
        let s = shape ?? [count]
        op("("); for d in s { int(d) }; op("t")
        var strides: [Int] = []
        var acc = 1
        for d in s.reversed() { strides.insert(acc, at: 0); acc *= d }
        op("("); for st in strides { int(st) }; op("t")
        raw([0x89]); global("collections", "OrderedDict"); op(")"); op("R")
        op("t"); op("R")
    }

    /// `{"fc.weight": 2×2 from storage "0", "fc.bias": 2 from storage "1"}`.
    static func linearStateDict() -> [UInt8] {
        var p = TestPickle()
        p.op("}"); p.op("(")
        p.str("fc.weight"); p.rebuild(count: 4, shape: [2, 2]) { $0.floatStorage(key: "0", count: 4) }
        p.str("fc.bias"); p.rebuild(count: 2) { $0.floatStorage(key: "1", count: 2) }
        p.op("u"); p.op(".")
        return p.b
    }
}
