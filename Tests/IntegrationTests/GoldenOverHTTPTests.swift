import Foundation
import JSON
import XCTest

/// Every golden case POSTed to the real server; the streamed body is judged by the golden compare.py.
final class GoldenOverHTTPTests: XCTestCase {
    static let caseRoots = ["Tests/EngineTests/Fixtures/golden", "Tests/EngineTests/Fixtures/extra"]

    func caseDirectories() -> [URL] {
        Self.caseRoots.flatMap { rel -> [URL] in
            let root = projectRoot.appendingPathComponent(rel)
            return ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).sorted()
                .map { root.appendingPathComponent($0) }
                .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("expected.json").path) }
        }
    }

    func testGoldenCasesOverHTTP() throws {
        let all = caseDirectories()
        let pretrained = all.filter { (try? String(contentsOf: $0.appendingPathComponent("spec.json"), encoding: .utf8))?.contains("Pretrained") ?? false }
        var failures: [String] = []
        var checked = 0
        // Pretrained paths in a golden spec are relative to its case folder: those cases get a server whose
        // checkpoint folder is the case folder, as an operator would configure it.
        let server = try ServerProcess()
        defer { _ = server.terminate() }
        for dir in all where !pretrained.contains(dir) {
            try check(dir, on: server, &failures, &checked)
        }
        for dir in pretrained {
            let own = try ServerProcess(arguments: ["--checkpoint-dir", dir.path])
            try check(dir, on: own, &failures, &checked)
            XCTAssertEqual(own.terminate(), 0)
        }
        XCTAssertGreaterThan(checked, 20)
        XCTAssertTrue(failures.isEmpty, failures.joined(separator: "\n"))
    }

    func check(_ dir: URL, on server: ServerProcess, _ failures: inout [String], _ checked: inout Int) throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("golden-http-\(getpid())")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let expected = try JSONCodec.parse([UInt8](Data(contentsOf: dir.appendingPathComponent("expected.json"))))
        let body = try Data(contentsOf: dir.appendingPathComponent("spec.json"))
        let r = try http("POST", server.url("/initialize"), body: body)
        if let error = expected.objectValue?["error"], error != .null {
            if r.status != 422 { failures.append("\(dir.lastPathComponent): want 422 for \(error.stringValue ?? ""), got \(r.status)") }
            if r.headers["content-type"] != "application/problem+json" { failures.append("\(dir.lastPathComponent): error is not problem+json") }
            return
        }
        guard r.status == 200 else {
            failures.append("\(dir.lastPathComponent): status \(r.status): \(String(decoding: r.body, as: UTF8.self))")
            return
        }
        if r.headers["content-length"] != String(r.body.count) {
            failures.append("\(dir.lastPathComponent): Content-Length \(r.headers["content-length"] ?? "-") but \(r.body.count) bytes")
        }
        let out = tmp.appendingPathComponent("\(dir.lastPathComponent).safetensors")
        try r.body.write(to: out)
        let (status, text) = try runCommand(testPython.split(separator: " ").map(String.init)
            + [projectRoot.appendingPathComponent("scripts/compare.py").path, dir.path, out.path])
        if status != 0 { failures.append(text) }
        // /plan returns the same report as the one embedded in the checkpoint.
        let plan = try http("POST", server.url("/plan"), body: body)
        let embedded = try embeddedReport(r.body)
        let planned = plan.status == 200 ? try JSONCodec.parse([UInt8](plan.body)) : nil
        if planned != embedded {
            failures.append("\(dir.lastPathComponent): /plan report differs from the embedded one")
        }
        checked += 1
    }

    func embeddedReport(_ body: Data) throws -> JSONValue {
        let header = try JSONCodec.parse(safetensorsParts(body).header)
        return try JSONCodec.parse(header.objectValue!["__metadata__"]!.objectValue!["init_report"]!.stringValue!)
    }
}
