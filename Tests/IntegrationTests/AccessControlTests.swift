import Foundation
import HTTPTestSupport
import XCTest

/// --auth-token-file, --protect-metrics and --max-connections-per-client on the real binary.
final class AccessControlTests: XCTestCase {
    let tokenA = "alpha-0123456789abcdef-token"
    let tokenB = "bravo-fedcba9876543210-token"
    let spec = Array(#"{"seed": 0, "model": {"type": "Net", "children": {"fc": {"type": "Linear", "in_features": 2, "out_features": 2}}}}"#.utf8)

    func tokenFile(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "weightinit-tokens-" + UUID().uuidString
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func post(_ port: Int, _ path: String, auth: [String] = []) throws -> RawResponse {
        try rawRequest(port: port, "POST", path, headers: [("Content-Type", "application/json")] + auth.map { ("Authorization", $0) },
                       body: spec)
    }

    func testBearerTokensGateWorkButNotProbes() throws {
        let file = try tokenFile("# rotation: both are valid\n\(tokenA)\n\n  \(tokenB)  \n")
        let server = try ServerProcess(arguments: ["--auth-token-file", file])
        defer { _ = server.terminate() }

        let none = try post(server.port, "/plan")
        XCTAssertEqual(none.status, 401)
        XCTAssertEqual(none.header("WWW-Authenticate"), #"Bearer realm="weightinit""#)
        XCTAssertEqual(none.header("Content-Type"), "application/problem+json")
        XCTAssertTrue(none.text.contains("urn:weightinit:problem:unauthorized"))

        for bad in ["Bearer wrong-token-0123456789abc", "Bearer \(tokenA)x", "Bearer \(tokenA.dropLast())", "Basic \(tokenA)",
                    "Bearer", "Bearer ", "\(tokenA)", "Bearer \(tokenA) \(tokenB)"] {
            let r = try post(server.port, "/plan", auth: [bad])
            XCTAssertEqual(r.status, 401, bad)
            XCTAssertEqual(r.header("WWW-Authenticate"), #"Bearer realm="weightinit", error="invalid_token""#, bad)
        }
        // Two Authorization headers are ambiguous, even if one is right.
        XCTAssertEqual(try post(server.port, "/plan", auth: ["Bearer \(tokenA)", "Bearer wrong"]).status, 401)

        XCTAssertEqual(try post(server.port, "/plan", auth: ["Bearer \(tokenA)"]).status, 200)
        XCTAssertEqual(try post(server.port, "/plan", auth: ["bearer \(tokenB)"]).status, 200)
        let stream = try post(server.port, "/initialize", auth: ["Bearer \(tokenB)"])
        XCTAssertEqual(stream.status, 200)
        XCTAssertTrue(stream.complete)
        XCTAssertEqual(try rawRequest(port: server.port, "GET", "/initializers").status, 401)
        XCTAssertEqual(try rawRequest(port: server.port, "GET", "/initializers", headers: [("Authorization", "Bearer \(tokenA)")]).status, 200)
        // Unknown paths and wrong methods are 401 before routing: nothing is learned without a token.
        XCTAssertEqual(try rawRequest(port: server.port, "GET", "/secret").status, 401)
        XCTAssertEqual(try rawRequest(port: server.port, "DELETE", "/plan").status, 401)
        XCTAssertEqual(try rawRequest(port: server.port, "GET", "/secret", headers: [("Authorization", "Bearer \(tokenA)")]).status, 404)

        // Probes and (by default) metrics stay open, on both ports.
        for port in [server.port, server.opsPort] {
            for path in ["/healthz", "/livez", "/readyz", "/metrics"] {
                XCTAssertEqual(try rawRequest(port: port, "GET", path).status, 200, "\(path) on \(port)")
            }
        }
    }

    func testUnauthenticatedBodyIsNotRead() throws {
        let server = try ServerProcess(arguments: ["--auth-token-file", try tokenFile(tokenA + "\n")])
        defer { _ = server.terminate() }
        // Announce 4 MiB but send none of it: the 401 comes from the headers alone.
        let c = try RawConnection(port: server.port, timeout: 5)
        try c.send("POST /initialize HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4194304\r\n\r\n")
        let r = try c.readResponse()
        XCTAssertEqual(r.status, 401)
        XCTAssertEqual(r.header("Connection")?.lowercased(), "close")
    }

    func testProtectMetrics() throws {
        let server = try ServerProcess(arguments: ["--auth-token-file", try tokenFile(tokenA + "\n"), "--protect-metrics", "true"])
        defer { _ = server.terminate() }
        for port in [server.port, server.opsPort] {
            XCTAssertEqual(try rawRequest(port: port, "GET", "/metrics").status, 401)
            XCTAssertEqual(try rawRequest(port: port, "GET", "/metrics", headers: [("Authorization", "Bearer \(tokenA)")]).status, 200)
            XCTAssertEqual(try rawRequest(port: port, "GET", "/readyz").status, 200)
        }
    }

    func testBadTokenFilesRefuseToStart() throws {
        for text in ["", "# only a comment\n\n", "short\n", "has space inside-0123456789\n", "ok-token-0123456789abcdef\nnon-ascii-é-0123456789\n"] {
            let file = try tokenFile(text)
            let (status, output) = try runCommand([ServerProcess.binary.path, "serve", "--port", "0", "--ops-port=-1",
                                                   "--auth-token-file", file])
            XCTAssertNotEqual(status, 0, "started with token file \(text.debugDescription)")
            XCTAssertTrue(output.contains(file) || output.contains("token"), output)
        }
        let (status, _) = try runCommand([ServerProcess.binary.path, "serve", "--port", "0", "--ops-port=-1",
                                          "--auth-token-file", "/nonexistent/tokens"])
        XCTAssertNotEqual(status, 0)
        let (s2, out2) = try runCommand([ServerProcess.binary.path, "serve", "--port", "0", "--protect-metrics", "true"])
        XCTAssertNotEqual(s2, 0, out2)
    }

    func testConnectionsPerClientAddressAreLimited() throws {
        let server = try ServerProcess(arguments: ["--max-connections-per-client", "2"])
        defer { _ = server.terminate() }
        let a = try RawConnection(port: server.port, timeout: 5)
        let b = try RawConnection(port: server.port, timeout: 5)
        try a.sendRequest("GET", "/healthz")
        XCTAssertEqual(try a.readResponse().status, 200)
        try b.sendRequest("GET", "/healthz")
        XCTAssertEqual(try b.readResponse().status, 200)
        // The third connection from 127.0.0.1 is accepted and closed at once: no answer.
        let c = try RawConnection(port: server.port, timeout: 5)
        try? c.sendRequest("GET", "/healthz")
        XCTAssertThrowsError(try c.readResponse())
        // The ops port has no per-address limit (probes).
        XCTAssertEqual(try rawRequest(port: server.opsPort, "GET", "/healthz").status, 200)
        withExtendedLifetime((a, b)) {}
    }
}
