import Foundation
import HTTPTestSupport
import JSON
import XCTest

/// The bad-input corpus (Tests/Corpus/bad-inputs, written by Tests/Corpus/make_bad_inputs.py) against the real
/// binary: every case gets its recorded 4xx as problem+json within a time bound, the process stays up, nothing
/// a hostile pickle names is ever run, probes keep answering meanwhile, and a normal request succeeds afterwards.
final class BadInputCorpusTests: XCTestCase {
    struct Case { var name, method, path, contentType: String; var status: Int }

    static let corpus = projectRoot.appendingPathComponent("Tests/Corpus/bad-inputs")
    /// What a pickle in the corpus would create if anything ran it.
    static let pwned = "/tmp/weightinit-pwned"

    static func loadManifest() throws -> [Case] {
        let text = try String(contentsOf: corpus.appendingPathComponent("MANIFEST.tsv"), encoding: .utf8)
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return Case(name: f[0], method: f[1], path: f[2], contentType: f[3], status: Int(f[4])!)
        }
    }

    /// The folder layout of make_bad_inputs.py's prepare_checkpoint_dir: checkpoints/ (+ symlinks out), outside/.
    func checkpointFolder() throws -> String {
        let root = NSTemporaryDirectory() + "weightinit-corpus-" + UUID().uuidString
        let fm = FileManager.default
        let ck = root + "/checkpoints"
        try fm.createDirectory(atPath: ck + "/sub", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/outside", withIntermediateDirectories: true)
        let source = Self.corpus.appendingPathComponent("checkpoints").path
        for name in try fm.contentsOfDirectory(atPath: source) {
            try fm.copyItem(atPath: source + "/" + name, toPath: ck + "/" + name)
        }
        try fm.copyItem(atPath: source + "/ok.pth", toPath: root + "/outside/secret.pth")
        try fm.createSymbolicLink(atPath: ck + "/link-out.pth", withDestinationPath: "../outside/secret.pth")
        try fm.createSymbolicLink(atPath: ck + "/link-abs.safetensors", withDestinationPath: "/etc/passwd")
        try fm.createSymbolicLink(atPath: ck + "/link-dir", withDestinationPath: "/")
        try fm.createSymbolicLink(atPath: ck + "/link-loop.pth", withDestinationPath: "link-loop.pth")
        addTeardownBlock { try? fm.removeItem(atPath: root) }
        return ck
    }

    func testEveryBadInputGetsItsProblemAndTheServerKeepsServing() throws {
        let cases = try Self.loadManifest()
        XCTAssertGreaterThanOrEqual(cases.count, 150)
        try? FileManager.default.removeItem(atPath: Self.pwned)
        let server = try ServerProcess(arguments: ["--checkpoint-dir", try checkpointFolder(),
                                                   "--max-body-bytes", "262144", "--max-job-bytes", "1073741824",
                                                   "--max-json-depth", "128"])
        defer { _ = server.terminate() }
        let rssBefore = residentBytes(server.process.processIdentifier)

        // Another client, meanwhile: the ops port's /healthz every 50 ms.
        let probe = ProbeLoop(port: server.opsPort)
        probe.start()

        var worst = (name: "", seconds: 0.0)
        var byStatus: [Int: Int] = [:]
        for c in cases {
            let body = try [UInt8](Data(contentsOf: Self.corpus.appendingPathComponent("cases/\(c.name).body")))
            let started = Date()
            let r: RawResponse
            do {
                let connection = try RawConnection(port: server.port, timeout: 15)
                var headers: [(String, String)] = [("Connection", "close")]
                if c.contentType != "-" { headers.append(("Content-Type", c.contentType)) }
                // A refusal before the body is read (413) may reset the upload: the answer is still there to read.
                try? connection.sendRequest(c.method, c.path, headers: headers, body: c.method == "POST" || !body.isEmpty ? body : nil)
                r = try connection.readResponse()
            } catch {
                XCTFail("\(c.name): no answer: \(error)")
                continue
            }
            let seconds = Date().timeIntervalSince(started)
            if seconds > worst.seconds { worst = (c.name, seconds) }
            byStatus[r.status, default: 0] += 1
            XCTAssertEqual(r.status, c.status, "\(c.name): \(r.text.prefix(300))")
            XCTAssertEqual(r.header("Content-Type"), "application/problem+json", c.name)
            let problem = (try? JSONCodec.parse(r.body))?.objectValue
            XCTAssertEqual(problem?["status"]?.intValue, Int64(r.status), "\(c.name): \(r.text.prefix(200))")
            XCTAssertNotNil(problem?["detail"]?.stringValue, c.name)
            XCTAssertLessThan(seconds, 5, "\(c.name) took \(seconds) s")
            XCTAssertTrue(server.process.isRunning, "the server died at \(c.name)")
        }
        let probes = probe.stop()
        let rssAfter = residentBytes(server.process.processIdentifier)
        print("corpus: \(cases.count) cases, by status \(byStatus.sorted { $0.key < $1.key }), slowest \(worst.name) "
              + "\(String(format: "%.3f", worst.seconds)) s; probes during: \(probes.count), slowest "
              + "\(String(format: "%.1f", probes.worst * 1000)) ms, failed \(probes.failed); "
              + "RSS \(rssBefore >> 20) -> \(rssAfter >> 20) MiB")
        XCTAssertEqual(probes.failed, 0, "probes failed during the corpus")
        XCTAssertLessThan(probes.worst, 1.0, "a probe took \(probes.worst) s during the corpus")
        XCTAssertFalse(FileManager.default.fileExists(atPath: Self.pwned), "a hostile pickle ran")
        XCTAssertLessThan(rssAfter, rssBefore + (256 << 20), "RSS grew from \(rssBefore) to \(rssAfter) bytes")

        // A normal request still works, on the same process.
        let good = #"{"seed": 0, "model": {"type": "Net", "children": {"fc": {"type": "Linear", "in_features": 4, "out_features": 2}}}}"#
        let ok = try rawRequest(port: server.port, "POST", "/initialize", headers: [("Content-Type", "application/json")],
                                body: Array(good.utf8))
        XCTAssertEqual(ok.status, 200)
        XCTAssertTrue(ok.complete)
        let pretrained = #"{"seed": 0, "model": {"type": "Net", "init_cfg": {"type": "Pretrained", "checkpoint": "ok.pth"}, "children": {"fc": {"type": "Linear", "in_features": 2, "out_features": 2}}}}"#
        XCTAssertEqual(try rawRequest(port: server.port, "POST", "/plan", headers: [("Content-Type", "application/json")],
                                      body: Array(pretrained.utf8)).status, 200)
        XCTAssertEqual(server.terminate(), 0)
    }
}

/// VmRSS of a process in bytes (0 when unknown).
func residentBytes(_ pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb << 10
}

/// GET /healthz in a loop on its own thread, timing each answer.
final class ProbeLoop: @unchecked Sendable {
    let port: Int
    private let lock = NSLock()
    private var running = true
    private var times: [Double] = []
    private var failures = 0
    private let done = DispatchSemaphore(value: 0)

    init(port: Int) { self.port = port }

    func start() {
        Thread { [self] in
            while lock.withLock({ running }) {
                let t0 = Date()
                let ok = (try? rawRequest(port: port, "GET", "/healthz", timeout: 5))?.status == 200
                let dt = Date().timeIntervalSince(t0)
                lock.withLock { if ok { times.append(dt) } else { failures += 1 } }
                usleep(50_000)
            }
            done.signal()
        }.start()
    }

    func stop() -> (count: Int, worst: Double, failed: Int) {
        lock.withLock { running = false }
        done.wait()
        return lock.withLock { (times.count, times.max() ?? 0, failures) }
    }
}
