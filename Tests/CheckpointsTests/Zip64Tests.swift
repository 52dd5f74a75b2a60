import Foundation
import XCTest
@testable import Checkpoints
import Tensors

/// ZIP64 without writing 4 GiB: the big record is a hole in a sparse file (zeros), the rest is written for real.
final class Zip64Tests: XCTestCase {
    func testRecordsPast4GiBSparseFile() throws {
        let bigCount = (1 << 30) + 8   // float32: 4 GiB + 32 bytes
        let entries = [
            CheckpointEntry(name: "a", dtype: .float32, shape: [4]),
            CheckpointEntry(name: "big", dtype: .float32, shape: [bigCount]),
            CheckpointEntry(name: "c", dtype: .int64, shape: [3]),
            CheckpointEntry(name: "empty", dtype: .float16, shape: [0]),
            CheckpointEntry(name: "flag", dtype: .bool, shape: []),
        ]
        var w = TorchZipWriter(entries: entries) { _ in [(name: "init_report.json", bytes: Array("{}".utf8))] }
        XCTAssertGreaterThan(w.dataRanges[2].lowerBound, 0xFFFF_FFFF)
        let path = temporaryDirectory() + "/zip64.pth"
        precondition(FileManager.default.createFile(atPath: path, contents: nil))
        let fh = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? fh.close() }
        var offset: UInt64 = 0
        func put(_ b: [UInt8]) throws {
            if b.isEmpty { return }
            try fh.seek(toOffset: offset)
            fh.write(Data(b))
            offset += UInt64(b.count)
        }
        let zeros = [UInt8](repeating: 0, count: 8 << 20)
        for (i, e) in entries.enumerated() {
            try put(w.prefix(forEntry: i))
            XCTAssertEqual(offset, w.dataRanges[i].lowerBound)
            if e.name == "big" {
                var left = e.byteCount
                while left > 0 {
                    let n = min(left, zeros.count)
                    zeros.withUnsafeBytes { w.consume(UnsafeRawBufferPointer(rebasing: $0[0 ..< n]), forEntry: i) }
                    left -= n
                }
                offset += UInt64(e.byteCount)   // hole
            } else {
                let d = patternBytes(e, index: i)
                d.withUnsafeBytes { w.consume($0, forEntry: i) }
                try put(d)
            }
            try put(w.suffix(forEntry: i))
        }
        try put(w.trailer())
        XCTAssertEqual(offset, w.totalBytes)
        try fh.synchronize()

        let source = try ByteSource(path: path)
        XCTAssertEqual(source.size, w.totalBytes)
        let zip = try ZipArchive(source, limits: .default)
        XCTAssertTrue(zip.usesZip64End)
        XCTAssertGreaterThan(zip.centralDirectoryOffset, 0xFFFF_FFFF)
        for (i, e) in entries.enumerated() {
            let rec = zip.entries.first { $0.name == "archive/data/\(i)" }!
            XCTAssertEqual(rec.size, UInt64(e.byteCount))
            XCTAssertEqual(try zip.dataRange(rec), w.dataRanges[i])
            if e.name != "big" {
                XCTAssertEqual(try zip.read(rec, maxBytes: 1 << 20), patternBytes(e, index: i))
            }
        }
        // Local headers: ZIP64 extra for the big record and for every record whose header starts past 4 GiB.
        for rec in zip.entries {
            let lfh = try source.bytes(rec.localHeaderOffset ..< rec.localHeaderOffset + 30)
            var r = LEReader(lfh, at: 4)
            let needed = r.u16()!
            let zip64 = rec.size >= 0xFFFF_FFFF || rec.localHeaderOffset >= 0xFFFF_FFFF
            XCTAssertEqual(needed, zip64 ? 45 : 20, rec.name)
            // Descriptor after the data: 24 bytes for ZIP64 entries, 16 otherwise, none when empty.
            let end = try zip.dataRange(rec).upperBound
            if rec.size > 0 {
                let d = try source.bytes(end ..< end + (zip64 ? 24 : 16))
                var dr = LEReader(d)
                XCTAssertEqual(dr.u32(), 0x0807_4b50)
                XCTAssertEqual(dr.u32(), rec.crc)
                XCTAssertEqual(zip64 ? dr.u64() : dr.u32().map(UInt64.init), rec.size)
            }
        }
        // The hole's CRC: zeros.
        XCTAssertEqual(zip.entries.first { $0.name == "archive/data/1" }!.crc, {
            var c: UInt32 = 0
            var left = entries[1].byteCount
            while left > 0 { let n = min(left, zeros.count); c = zeros.withUnsafeBytes { crc32(c, UnsafeRawBufferPointer(rebasing: $0[0 ..< n])) }; left -= n }
            return c
        }())

        let python = try requirePythonWithTorch()
        let script = """
        import sys, zipfile, torch
        p = sys.argv[1]
        z = zipfile.ZipFile(p)
        for i in z.infolist():
            if i.file_size < 1 << 20: z.read(i)   # CRC-checked
        sd = torch.load(p, weights_only=True, mmap=True)
        assert list(sd) == ["a", "big", "c", "empty", "flag"], list(sd)
        assert sd["a"].tolist() == [-2.0, -0.25, 1.5, 3.25], sd["a"].tolist()
        assert sd["big"].shape == (\(bigCount),) and sd["big"][0] == 0 and sd["big"][-1] == 0
        assert sd["big"].data_ptr() % 64 == 0 and sd["c"].data_ptr() % 64 == 0
        assert sd["c"].tolist() == [-7, 1000000000, 2000000007], sd["c"].tolist()
        assert sd["empty"].shape == (0,) and sd["empty"].dtype == torch.float16
        assert sd["flag"].shape == () and sd["flag"].item() is False
        print("OK")
        """
        let r = runProcess(python, ["-c", script, path])
        XCTAssertEqual(r.status, 0, r.output)
        if ProcessInfo.processInfo.environment["CHECKPOINTS_KEEP_FILES"] == nil { try? FileManager.default.removeItem(atPath: path) } else { print("kept", path) }
    }

    func testEntryCountOverflowUsesZip64End() throws {
        // 70,000 records > 0xFFFF: the classic EOCD count saturates and the ZIP64 end record carries it.
        let entries = (0 ..< 70_000).map { CheckpointEntry(name: "t\($0)", dtype: .bool, shape: [1]) }
        var w = TorchZipWriter(entries: entries) { _ in [] }
        let bytes = serialize(&w, count: entries.count, chunk: 1) { [($0 % 2 == 0) ? 1 : 0] }
        let zip = try ZipArchive(ByteSource(bytes: bytes), limits: .default)
        XCTAssertTrue(zip.usesZip64End)
        XCTAssertEqual(zip.entries.count, 70_000 + 6)
        let path = temporaryDirectory() + "/count.pth"
        writeFile(path, bytes)
        let python = try requirePythonWithTorch()
        let r = runProcess(python, ["-c", """
        import sys, zipfile, torch
        assert zipfile.ZipFile(sys.argv[1]).testzip() is None
        sd = torch.load(sys.argv[1], weights_only=True)
        assert len(sd) == 70000 and sd["t0"].item() and not sd["t69999"].item()
        print("OK")
        """, path])
        XCTAssertEqual(r.status, 0, r.output)
        let u = runProcess("/usr/bin/unzip", ["-tqq", path])
        XCTAssertEqual(u.status, 0, u.output)
    }
}
