import Foundation
import XCTest
@testable import Checkpoints
import Tensors

/// Deterministic test pattern: entry `i`, element `j` (exactly representable in every float dtype).
func patternValue(_ i: Int, _ j: Int) -> Double { Double((j * 7 + i * 3) % 23) * 0.25 - 2.0 }

func patternBytes(_ e: CheckpointEntry, index i: Int) -> [UInt8] {
    let n = numel(e.shape)
    var out: [UInt8] = []
    out.reserveCapacity(e.byteCount)
    for j in 0 ..< n {
        switch e.dtype {
        case .float32: out.appendLE32(Float(patternValue(i, j)).bitPattern)
        case .float64: out.appendLE64(patternValue(i, j).bitPattern)
        case .float16: out.appendLE16(FloatBits.float16(Float(patternValue(i, j))))
        case .bfloat16: out.appendLE16(FloatBits.bfloat16(Float(patternValue(i, j))))
        case .int64: out.appendLE64(UInt64(bitPattern: Int64(j) * 1_000_000_007 - 5 - Int64(i)))
        case .int32: out.appendLE32(UInt32(bitPattern: Int32(j * 65537 - 9 - i)))
        case .bool: out.append((j + i) % 3 == 0 ? 1 : 0)
        }
    }
    return out
}

/// Drives a writer through the whole protocol, feeding `data(i)` in chunks of `chunk` bytes; returns the file.
func serialize<W: CheckpointWriter>(_ writer: inout W, count: Int, chunk: Int = 7, data: (Int) -> [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    for i in 0 ..< count {
        out += writer.prefix(forEntry: i)
        XCTAssertEqual(UInt64(out.count), writer.dataRanges[i].lowerBound, "data start of entry \(i)")
        let d = data(i)
        XCTAssertEqual(UInt64(d.count), UInt64(writer.dataRanges[i].count))
        var k = 0
        while k < d.count {
            let end = min(k + chunk, d.count)
            d[k ..< end].withUnsafeBytes { writer.consume($0, forEntry: i) }
            k = end
        }
        out += d
        out += writer.suffix(forEntry: i)
    }
    out += writer.trailer()
    XCTAssertEqual(UInt64(out.count), writer.totalBytes)
    return out
}

extension XCTestCase {
    /// A fresh directory, removed after the test (kept when CHECKPOINTS_KEEP_FILES is set).
    func temporaryDirectory() -> String {
        let dir = NSTemporaryDirectory() + "ckpt-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if ProcessInfo.processInfo.environment["CHECKPOINTS_KEEP_FILES"] == nil {
            addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        }
        return dir
    }
}

func writeFile(_ path: String, _ bytes: [UInt8]) {
    precondition(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
}

func fixturePath(_ name: String) -> String {
    Bundle.module.path(forResource: "Fixtures/" + name, ofType: nil)
        ?? (Bundle.module.resourcePath! + "/Fixtures/" + name)
}

/// Python with torch, safetensors and numpy: `CHECKPOINTS_TEST_PYTHON`, else `WEIGHTINIT_TEST_PYTHON` (what
/// `scripts/test.sh` exports: the venv of `scripts/python-env.sh`), else that venv found from this file's clone
/// (`.venv`, then `~/.cache/weightinit/venv*`). nil when none has torch: the checks that need it skip locally,
/// but under CI (`CI` set) a missing tool is a failure, never a skip (`scripts/test.sh` also fails on any skip).
/// `CHECKPOINTS_TEST_PYTHON=none` disables the python checks (to see what a run without torch does).
let pythonWithTorch: String? = {
    let env = ProcessInfo.processInfo.environment
    if env["CHECKPOINTS_TEST_PYTHON"] == "none" { return nil }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let cache = env["XDG_CACHE_HOME"].map { $0 + "/weightinit" } ?? (NSHomeDirectory() + "/.cache/weightinit")
    let cached = ((try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? [])
        .filter { $0.hasPrefix("venv") }.sorted().map { "\(cache)/\($0)/bin/python" }
    let candidates = [env["CHECKPOINTS_TEST_PYTHON"], env["WEIGHTINIT_TEST_PYTHON"], env["WEIGHTINIT_VENV"].map { $0 + "/bin/python" },
                      root.appendingPathComponent(".venv/bin/python").path].compactMap { $0 } + cached
    for python in candidates where FileManager.default.isExecutableFile(atPath: python) {
        if runProcess(python, ["-c", "import torch, safetensors, numpy"]).status == 0 { return python }
    }
    if env["CI"].map({ !$0.isEmpty && $0 != "false" && $0 != "0" }) ?? false {
        // Loud in CI: the test command installs torch, so not finding it is a broken set-up.
        FileHandle.standardError.write(Data("error: no python with torch, safetensors and numpy among \(candidates)\n".utf8))
    }
    return nil
}()

/// The python with torch, or: under CI a thrown error (the test fails), locally an XCTSkip.
func requirePythonWithTorch(_ why: String = "no python with torch") throws -> String {
    if let pythonWithTorch { return pythonWithTorch }
    if let ci = ProcessInfo.processInfo.environment["CI"], !ci.isEmpty, ci != "false", ci != "0" {
        throw MissingTool(description: "CI: \(why) (set WEIGHTINIT_TEST_PYTHON or run scripts/test.sh)")
    }
    throw XCTSkip(why)
}

struct MissingTool: Error, CustomStringConvertible { var description: String }

@discardableResult
func runProcess(_ executable: String, _ arguments: [String]) -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    do { try p.run() } catch { return (-1, "\(error)") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
