import Foundation
import XCTest

/// Where `weightinit init -o` writes, through the real binary: a regular file is replaced only when complete, and
/// what is not a regular file (`-`, a FIFO, a symlink) is written in place and survives. Renaming a finished
/// `.partial` over `/dev/null` used to replace the device with a file.
final class CLIOutputTests: XCTestCase {
    private var dir: URL!
    private var spec: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cli-output-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        spec = dir.appendingPathComponent("spec.json")
        try Data(#"{"seed": 3, "model": {"type": "Linear", "in_features": 300, "out_features": 200}}"#.utf8).write(to: spec)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func initTo(_ output: String) throws -> (Int32, String) {
        try runCommand([ServerProcess.binary.path, "init", spec.path, "-o", output])
    }

    private func reference() throws -> Data {
        let file = dir.appendingPathComponent("ref.safetensors")
        let (status, text) = try initTo(file.path)
        XCTAssertEqual(status, 0, text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: file.path + ".partial"))
        let data = try Data(contentsOf: file)
        XCTAssertGreaterThan(data.count, 300 * 200 * 4)
        return data
    }

    func testStandardOutput() throws {
        let expected = try reference()
        let process = Process()
        process.executableURL = ServerProcess.binary
        process.arguments = ["init", spec.path, "-o", "-"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(data, expected)
    }

    func testStandardOutputOnATerminalIsRefused() throws {
        // script(1) (util-linux, in every Debian) runs the command with a pseudo-terminal as its standard output.
        let command = "'\(ServerProcess.binary.path)' init '\(spec.path)' -o -"
        let (status, text) = try runCommand(["script", "-qec", command, "/dev/null"])
        XCTAssertNotEqual(status, 0, text)
        XCTAssertTrue(text.contains("standard output is a terminal"), text)
        XCTAssertLessThan(text.utf8.count, 10_000, "the checkpoint went to the terminal")
    }

    func testFIFOIsWrittenInPlaceAndStaysAFIFO() throws {
        let expected = try reference()
        let fifo = dir.appendingPathComponent("pipe").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let copy = dir.appendingPathComponent("from-fifo.bin").path
        let reader = Process()  // the FIFO's reader, as a shell redirect would be
        reader.executableURL = URL(fileURLWithPath: "/bin/sh")
        reader.arguments = ["-c", "cat \"$0\" > \"$1\"", fifo, copy]
        try reader.run()
        let (status, text) = try initTo(fifo)
        XCTAssertEqual(status, 0, text)
        // A CLI that replaced the FIFO never opened it: the reader would wait for a writer forever.
        let deadline = Date().addingTimeInterval(20)
        while reader.isRunning && Date() < deadline { usleep(10_000) }
        if reader.isRunning { kill(reader.processIdentifier, SIGKILL); XCTFail("the FIFO's reader got no writer") }
        reader.waitUntilExit()
        let received = try Data(contentsOf: URL(fileURLWithPath: copy))
        XCTAssertEqual(received, expected)
        var info = stat()
        XCTAssertEqual(lstat(fifo, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFIFO, "the FIFO was replaced")
        XCTAssertFalse(FileManager.default.fileExists(atPath: fifo + ".partial"))
    }

    func testSymlinkIsFollowedNotReplaced() throws {
        let expected = try reference()
        let target = dir.appendingPathComponent("target.bin")
        try Data(repeating: 7, count: expected.count + 1000).write(to: target)  // longer: must be truncated
        let link = dir.appendingPathComponent("link.safetensors")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        let (status, text) = try initTo(link.path)
        XCTAssertEqual(status, 0, text)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link.path), target.path)
        XCTAssertEqual(try Data(contentsOf: target), expected)
    }

    func testFailedRunLeavesTheOldFileAndNoPartial() throws {
        let out = dir.appendingPathComponent("old.safetensors")
        try Data("previous checkpoint".utf8).write(to: out)
        try Data(#"{"seed": 3, "model": {"type": "Linear", "in_features": -1, "out_features": 2}}"#.utf8).write(to: spec)
        let (status, _) = try initTo(out.path)
        XCTAssertNotEqual(status, 0)
        XCTAssertEqual(try Data(contentsOf: out), Data("previous checkpoint".utf8))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path + ".partial"))
    }

    func testDirectoryIsRefused() throws {
        let (status, text) = try initTo(dir.path)
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(text.contains("is a directory"), text)
    }
}
