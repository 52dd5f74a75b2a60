import Engine
import Foundation
import JSON
import XCTest

/// Pretrained from http URLs, against a small Python HTTP server on 127.0.0.1 (loopback only).
final class CheckpointURLTests: XCTestCase {
    /// Serves DIR; /slow/* waits 30 s before answering; /models/redirect-out redirects outside the allowed prefix;
    /// /models/redirect-in redirects to /models/ckpt.pth; /models/liar.pth announces 10 bytes, sends more.
    static let serverScript = #"""
import http.server, os, sys, time
root = sys.argv[1]
class H(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k):
        super().__init__(*a, directory=root, **k)
    def log_message(self, *a):
        pass
    def do_GET(self):
        if self.path.startswith('/slow/'):
            time.sleep(30)
        if self.path == '/models/redirect-out':
            self.send_response(302); self.send_header('Location', '/other/ckpt.pth'); self.send_header('Content-Length', '0'); self.end_headers(); return
        if self.path == '/models/redirect-in':
            self.send_response(302); self.send_header('Location', '/models/ckpt.pth'); self.send_header('Content-Length', '0'); self.end_headers(); return
        if self.path == '/models/chunked.pth':
            data = open(os.path.join(root, 'models', 'ckpt.pth'), 'rb').read()
            self.send_response(200); self.send_header('Transfer-Encoding', 'chunked'); self.end_headers()
            for i in range(0, len(data), 1000):
                c = data[i:i+1000]; self.wfile.write(b'%x\r\n' % len(c) + c + b'\r\n')
            self.wfile.write(b'0\r\n\r\n'); return
        return super().do_GET()
class S(http.server.ThreadingHTTPServer):
    daemon_threads = True
s = S(('127.0.0.1', 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""#

    var server: Process?
    var base = ""
    var root = ""
    /// The golden case whose checkpoint is served.
    let caseDir = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/extra/pretrained_zip")

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/env") else { throw XCTSkip("no /usr/bin/env") }
        root = NSTemporaryDirectory() + "weightinit-http-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root + "/models", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/other", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/slow", withIntermediateDirectories: true)
        let ckpt = try Data(contentsOf: caseDir.appendingPathComponent("ckpt.pth"))
        for sub in ["models", "other", "slow"] { _ = FileManager.default.createFile(atPath: "\(root)/\(sub)/ckpt.pth", contents: ckpt) }
        _ = FileManager.default.createFile(atPath: root + "/models/garbage.pth", contents: Data("not a checkpoint".utf8))
        try Self.serverScript.write(toFile: root + "/server.py", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", root + "/server.py", root]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { throw XCTSkip("cannot start python3: \(error)") }
        server = p
        let line = out.fileHandleForReading.availableLine()
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw XCTSkip("python3 http server did not start")
        }
        base = "http://127.0.0.1:\(port)"
    }

    override func tearDown() {
        if let server, server.isRunning { server.terminate(); server.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: root)
    }

    func spec(_ checkpoint: String) throws -> JSONValue {
        let text = try String(contentsOf: caseDir.appendingPathComponent("spec.json"), encoding: .utf8)
        return try JSONCodec.parse(Array(text.replacingOccurrences(of: "\"ckpt.pth\"", with: "\"\(checkpoint)\"").utf8))
    }

    func options(_ prefixes: [String], maxBytes: UInt64 = EngineOptions.defaultMaxCheckpointDownloadBytes, timeout: Double = 20) -> EngineOptions {
        EngineOptions(checkpointDirectory: caseDir.path, allowedCheckpointURLPrefixes: prefixes,
                      maxCheckpointDownloadBytes: maxBytes, checkpointDownloadTimeout: timeout)
    }

    /// The tensors of the golden case's expected output.
    func expectedTensors() throws -> SafetensorsFile { try SafetensorsFile(path: caseDir.appendingPathComponent("expected.safetensors").path) }

    func checkMatchesGolden(_ job: PreparedJob, file: StaticString = #filePath, line: UInt = #line) throws {
        let got = try SafetensorsFile(bytes: GoldenCase(directory: caseDir).drain(job))
        let want = try expectedTensors()
        XCTAssertEqual(got.names.sorted(), want.names.sorted(), file: file, line: line)   // safetensors files sort their header
        for k in want.names { XCTAssertEqual(got.tensors[k]?.bytes, want.tensors[k]?.bytes, k, file: file, line: line) }
    }

    func expectRefusal(_ checkpoint: String, _ options: EngineOptions, contains: [String], within seconds: Double = 10,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let start = Date()
        do {
            _ = try Engine.prepare(try spec(checkpoint), options: options)
            XCTFail("expected \(checkpoint) to be refused", file: file, line: line)
        } catch let error as SpecError {
            for part in contains { XCTAssertTrue(error.message.contains(part), "'\(part)' not in: \(error.message)", file: file, line: line) }
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), seconds, file: file, line: line)
    }

    func testAllowedURLDownloadsAndLoads() throws {
        for prefix in [base + "/models/", base + "/models", base] {
            let url = base + "/models/ckpt.pth"
            let job = try Engine.prepare(try spec(url), options: options([prefix]))
            try checkMatchesGolden(job)
            let pretrained = job.report.objectValue!["pretrained"]!.arrayValue!
            XCTAssertEqual(pretrained.first?.objectValue?["checkpoint"], .string(url))
            let info = job.report.objectValue!["tensors"]!.arrayValue!.first!.objectValue!["init_info"]
            XCTAssertEqual(info, .string("PretrainedInit: load from \(url)"))
        }
        // Chunked transfer encoding, and a redirect that stays under the prefix.
        try checkMatchesGolden(try Engine.prepare(try spec(base + "/models/chunked.pth"), options: options([base + "/models/"])))
        try checkMatchesGolden(try Engine.prepare(try spec(base + "/models/redirect-in"), options: options([base + "/models/"])))
        // No temporary files are left behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("weightinit-download-") }
        XCTAssertEqual(leftovers, [])
    }

    func testURLsOutsideTheAllowedPrefixesAreRefused() throws {
        let url = base + "/models/ckpt.pth"
        try expectRefusal(url, options([]), contains: ["not allowed on this server", url])
        try expectRefusal(base + "/other/ckpt.pth", options([base + "/models/"]), contains: ["not under an allowed prefix"])
        try expectRefusal(base + "/models-old/ckpt.pth", options([base + "/models"]), contains: ["not under an allowed prefix"])
        try expectRefusal(base + "/models/../other/ckpt.pth", options([base + "/models/"]), contains: ["not under an allowed prefix"])
        try expectRefusal(base + "/models/%2e%2e/other/ckpt.pth", options([base + "/models/"]), contains: ["not under an allowed prefix"])
        try expectRefusal(base + "0/models/ckpt.pth", options([base]), contains: ["not under an allowed prefix"])
        try expectRefusal("http://user@" + base.dropFirst(7) + "/models/ckpt.pth", options([base]), contains: ["not under an allowed prefix"])
        try expectRefusal("ftp://127.0.0.1/models/ckpt.pth", options(["ftp://127.0.0.1/"]), contains: ["unsupported checkpoint scheme"])
        try expectRefusal(base + "/models/redirect-out", options([base + "/models/"]), contains: ["redirected", "not under an allowed prefix"])
    }

    func testDownloadLimitsAndFailures() throws {
        let size = try Data(contentsOf: caseDir.appendingPathComponent("ckpt.pth")).count
        try expectRefusal(base + "/models/ckpt.pth", options([base], maxBytes: UInt64(size - 1)), contains: ["limit of \(size - 1) bytes"])
        try expectRefusal(base + "/models/chunked.pth", options([base], maxBytes: 2000), contains: ["limit of 2000 bytes"])
        _ = try Engine.prepare(try spec(base + "/models/ckpt.pth"), options: options([base], maxBytes: UInt64(size)))
        try expectRefusal(base + "/slow/ckpt.pth", options([base], timeout: 1), contains: ["cannot download", base + "/slow/ckpt.pth"], within: 5)
        try expectRefusal(base + "/models/nothere.pth", options([base]), contains: ["HTTP 404"])
        try expectRefusal(base + "/models/garbage.pth", options([base]), contains: ["garbage.pth", "not a safetensors, torch zip or legacy torch checkpoint"])
        // Nothing listens on the port after the server: a connection error, quickly.
        server?.terminate()
        server?.waitUntilExit()
        try expectRefusal(base + "/models/ckpt.pth", options([base]), contains: ["cannot download"], within: 5)
    }
}

extension FileHandle {
    /// Reads up to the first newline (or the end).
    func availableLine() -> String {
        var bytes: [UInt8] = []
        while true {
            let d = readData(ofLength: 1)
            if d.isEmpty || d.first == 0x0a { break }
            bytes += d
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
