import Foundation
import JSON
import XCTest

/// The job page rendered by a real browser (headless Chromium, Debian's `chromium`, installed by
/// scripts/prerequisites.sh): screenshots of a running and of a finished job, and the rendered DOM.
/// Set WEIGHTINIT_SCREENSHOT_DIR to keep the screenshots (docs/img has the committed ones).
final class JobPageBrowserTests: XCTestCase {
    /// Kaiming convolutions, TruncNormal(0.02) linears, and one head drawn with std 1.0: the badly
    /// scaled layer the page should make obvious.
    static let smallNet = #"{"seed": 3, "model": {"type": "SmallNet", "init_cfg": [{"type": "Kaiming", "layer": "Conv2d", "nonlinearity": "relu"}, {"type": "TruncNormal", "std": 0.02, "layer": "Linear", "override": {"name": "head", "type": "Normal", "std": 1.0}}], "children": {"stem": {"type": "Conv2d", "in_channels": 3, "out_channels": 16, "kernel_size": 3}, "bn": {"type": "BatchNorm2d", "num_features": 16}, "conv2": {"type": "Conv2d", "in_channels": 16, "out_channels": 32, "kernel_size": 3}, "norm": {"type": "LayerNorm", "normalized_shape": 64}, "fc1": {"type": "Linear", "in_features": 64, "out_features": 128}, "fc2": {"type": "Linear", "in_features": 128, "out_features": 64}, "head": {"type": "Linear", "in_features": 64, "out_features": 10}}}}"#
    /// ~64 MB: still running while the browser starts and renders, even on a busy machine.
    static let big = #"{"seed": 1, "model": {"type": "BigNet", "children": {"emb": {"type": "Embedding", "num_embeddings": 16000, "embedding_dim": 1024}, "fc": {"type": "Linear", "in_features": 1024, "out_features": 1024}}}}"#

    static var chromium: String? {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
            where FileManager.default.isExecutableFile(atPath: path) { return path }
        return nil
    }

    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("wi-browser-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        addTeardownBlock { [work] in try? FileManager.default.removeItem(at: work!) }
    }

    /// Runs headless Chromium (bounded by `timeout`), returns its stdout.
    func browser(_ arguments: [String]) throws -> String {
        guard let chromium = Self.chromium else {
            XCTFail("chromium is not installed (scripts/prerequisites.sh installs Debian's chromium)")
            throw XCTSkip("no browser")
        }
        let (status, output) = try runCommand(["timeout", "120", chromium, "--headless", "--no-sandbox", "--disable-gpu",
                                               "--hide-scrollbars", "--no-first-run", "--disable-extensions",
                                               "--user-data-dir=\(work.appendingPathComponent("profile").path)"] + arguments)
        XCTAssertEqual(status, 0, output)
        return output
    }

    func screenshot(_ url: URL, _ name: String, height: Int) throws -> URL {
        let file = work.appendingPathComponent(name)
        _ = try browser(["--screenshot=\(file.path)", "--window-size=1100,\(height)", url.absoluteString])
        let data = try Data(contentsOf: file)
        XCTAssertEqual(Array(data.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "a PNG")
        XCTAssertGreaterThan(data.count, 10_000, "a rendered page, not a blank one")
        if let keep = ProcessInfo.processInfo.environment["WEIGHTINIT_SCREENSHOT_DIR"] {
            let dest = URL(fileURLWithPath: keep).appendingPathComponent(name)
            try? FileManager.default.removeItem(at: dest)
            try FileManager.default.copyItem(at: file, to: dest)
        }
        return file
    }

    func testJobPageRendersInHeadlessChromium() throws {
        let server = try ServerProcess(arguments: ["--spool-dir", work.appendingPathComponent("spool").path])
        defer { _ = server.terminate() }

        // A finished job: table rows and both charts, as the browser built them.
        let small = try XCTUnwrap(object(try request("POST", server.url("/jobs"), body: Data(Self.smallNet.utf8)).body)["id"]?.stringValue)
        let doc = try poll(server, small, until: "done")
        let tensors = try XCTUnwrap(doc["report"]?.objectValue?["tensors"]?.arrayValue)
        let dom = try browser(["--dump-dom", server.url("/jobs/\(small)").absoluteString])
        XCTAssertTrue(dom.contains("<table id=\"tensors\">"), dom)
        XCTAssertEqual(dom.components(separatedBy: "<tr class=").count - 1, tensors.count)
        for name in ["stem.weight", "bn.running_var", "head.weight", "fc2.bias"] {
            XCTAssertTrue(dom.contains("<td class=\"name\">\(name)</td>"), name)
        }
        XCTAssertTrue(dom.contains("<svg id=\"std-chart\""))
        XCTAssertTrue(dom.contains("<svg id=\"mean-chart\""))
        XCTAssertEqual(dom.components(separatedBy: "<title>head.weight: std").count - 1, 1)
        XCTAssertTrue(dom.contains("id=\"state\">done</span>"))
        XCTAssertFalse(dom.contains("http-equiv=\"refresh\""))
        _ = try screenshot(server.url("/jobs/\(small)"), "job-done.png", height: 1500)

        // A running job: the progress bar, refreshing itself.
        let bigID = try XCTUnwrap(object(try request("POST", server.url("/jobs"), body: Data(Self.big.utf8)).body)["id"]?.stringValue)
        _ = try poll(server, bigID, until: "running", minBytes: 1)
        let runningDOM = try browser(["--dump-dom", server.url("/jobs/\(bigID)").absoluteString])
        XCTAssertTrue(runningDOM.contains("id=\"state\">running</span>") || runningDOM.contains("id=\"state\">done</span>"), runningDOM)
        if runningDOM.contains(">running<") {
            XCTAssertTrue(runningDOM.contains("role=\"progressbar\""))
            XCTAssertTrue(runningDOM.contains("http-equiv=\"refresh\""))
        }
        _ = try screenshot(server.url("/jobs/\(bigID)"), "job-running.png", height: 560)
        XCTAssertTrue([200, 204].contains(try request("DELETE", server.url("/jobs/\(bigID)")).status))
    }
}
