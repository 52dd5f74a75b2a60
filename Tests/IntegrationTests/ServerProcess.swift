import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The real `weightinit serve` binary, started as a user would, on ephemeral ports.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    let output = Pipe()
    private(set) var port = 0
    private(set) var opsPort = 0

    static var binary: URL {
        // Tests run from .build/<config>/<package>PackageTests.xctest; the executable sits beside it.
        var dir = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("weightinit")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir.deleteLastPathComponent()
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/weightinit")
    }

    init(arguments: [String] = []) throws {
        process.executableURL = Self.binary
        process.arguments = ["serve", "--port", "0", "--ops-port", "0", "--log-format", "json"] + arguments
        process.standardOutput = output
        process.standardError = output
        try process.run()
        // The first log line names the bound ports.
        let deadline = Date().addingTimeInterval(20)
        var buffer = Data()
        while Date() < deadline, port == 0 {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") {
                guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
                let meta = (obj["metadata"] as? [String: Any]) ?? obj
                if let p = Int("\(meta["port"] ?? "")"), let o = Int("\(meta["ops_port"] ?? "")") {
                    port = p
                    opsPort = o
                }
            }
        }
        if port == 0 { throw NSError(domain: "ServerProcess", code: 1, userInfo: [NSLocalizedDescriptionKey: "server did not report its port: \(String(decoding: buffer, as: UTF8.self))"]) }
        // Keep draining the log so the server never blocks on a full pipe.
        output.fileHandleForReading.readabilityHandler = { _ = $0.availableData }
    }

    func url(_ path: String, ops: Bool = false) -> URL { URL(string: "http://127.0.0.1:\(ops ? opsPort : port)\(path)")! }

    /// SIGTERM, then the exit status.
    func terminate() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        output.fileHandleForReading.readabilityHandler = nil
        return process.terminationStatus
    }

    /// Waits for the process to end by itself (no further signal: a second SIGTERM exits at once).
    func waitForExit() -> Int32 {
        process.waitUntilExit()
        output.fileHandleForReading.readabilityHandler = nil
        return process.terminationStatus
    }

    deinit { if process.isRunning { process.terminate(); process.waitUntilExit() } }
}

/// A blocking HTTP call with URLSession (a real client).
func http(_ method: String, _ url: URL, body: Data? = nil, contentType: String? = "application/json",
          headers: [String: String] = [:], timeout: TimeInterval = 120,
          session: URLSession = .shared) throws -> (status: Int, headers: [String: String], body: Data)
{
    var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
    request.httpMethod = method
    request.httpBody = body
    if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
    for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
    let done = DispatchSemaphore(value: 0)
    let box = ResultBox()
    session.dataTask(with: request) { data, response, error in
        if let r = response as? HTTPURLResponse {
            var headers: [String: String] = [:]
            for (k, v) in r.allHeaderFields { headers["\(k)".lowercased()] = "\(v)" }
            box.result = (r.statusCode, headers, data ?? Data())
        }
        box.failure = error
        done.signal()
    }.resume()
    done.wait()
    if let result = box.result { return result }
    throw box.failure ?? URLError(.badServerResponse)
}

/// Hands a completion handler's result to the waiting test thread (the semaphore orders the accesses).
final class ResultBox: @unchecked Sendable {
    var result: (Int, [String: String], Data)?
    var failure: Error?
}

/// The python used to run the golden compare.py (numpy needed).
var testPython: String {
    if let p = ProcessInfo.processInfo.environment["WEIGHTINIT_TEST_PYTHON"] { return p }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let venv = root.appendingPathComponent(".venv/bin/python").path
    return FileManager.default.isExecutableFile(atPath: venv) ? venv : "/usr/bin/env python3"
}

var projectRoot: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// Runs a command, returns (status, combined output).
func runCommand(_ command: [String]) throws -> (Int32, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = command
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
