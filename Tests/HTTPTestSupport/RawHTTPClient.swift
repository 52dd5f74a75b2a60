// A deliberately tiny blocking HTTP/1.1 client over a raw TCP socket, so the tests exercise
// the real server the way curl would, and can misbehave on purpose (hang up mid-stream,
// send oversized or chunked bodies, read slowly). Shared by HTTPServerTests and ServiceTests.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation

public struct RawResponse {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// False when the connection closed before Content-Length bytes arrived.
    public var complete: Bool

    public func header(_ name: String) -> String? {
        headers.first(where: { $0.0.lowercased() == name.lowercased() })?.1
    }
    public var text: String { String(decoding: body, as: UTF8.self) }
}

public struct RawClientError: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

public final class RawConnection {
    public let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0

    public init(port: Int, timeout: Double = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawClientError(description: "socket() failed") }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            Glibc.close(fd)
            throw RawClientError(description: "connect to \(port) failed: errno \(errno)")
        }
    }

    deinit { Glibc.close(fd) }

    /// Shrinks the receive buffer so a slow reader applies back-pressure quickly.
    public func setReceiveBuffer(_ bytes: Int32) {
        var v = bytes
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, socklen_t(MemoryLayout<Int32>.size))
    }

    public func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw RawClientError(description: "send failed: errno \(errno)") }
            sent += n
        }
    }

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Sends a request with a Content-Length body (when `body` is given).
    public func sendRequest(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil) throws {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if let body, !headers.contains(where: { $0.0.lowercased() == "content-length" || $0.0.lowercased() == "transfer-encoding" }) {
            head += "Content-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        try send(Array(head.utf8) + (body ?? []))
    }

    /// Reads up to `max` bytes (whatever is available); [] at EOF.
    public func readSome(max: Int = 65536) throws -> [UInt8] {
        if start < buffer.count {
            let n = min(max, buffer.count - start)
            defer { start += n; compact() }
            return Array(buffer[start..<start + n])
        }
        var chunk = [UInt8](repeating: 0, count: max)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 { throw RawClientError(description: "recv failed: errno \(errno)") }
        return Array(chunk[0..<n])
    }

    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 { throw RawClientError(description: "recv failed/timed out: errno \(errno)") }
        if n == 0 { return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    private func compact() {
        if start > 1 << 20 || start == buffer.count { buffer.removeFirst(start); start = 0 }
    }

    public func readLine() throws -> String? {
        while true {
            if let i = buffer[start...].firstIndex(of: 10) {
                var line = Array(buffer[start..<i])
                if line.last == 13 { line.removeLast() }
                start = i + 1
                compact()
                return String(decoding: line, as: UTF8.self)
            }
            if try !fill() { return nil }
        }
    }

    /// Reads exactly n bytes unless the peer closes first.
    public func read(count n: Int) throws -> [UInt8] {
        while buffer.count - start < n {
            if try !fill() { break }
        }
        let k = min(n, buffer.count - start)
        defer { start += k; compact() }
        return Array(buffer[start..<start + k])
    }

    /// Reads one response head. `100 Continue` interim responses are skipped unless asked for.
    public func readHead(skipContinue: Bool = true) throws -> (status: Int, headers: [(String, String)]) {
        while true {
            guard let statusLine = try readLine() else { throw RawClientError(description: "connection closed before status line") }
            let parts = statusLine.split(separator: " ")
            guard parts.count >= 2, let status = Int(parts[1]) else { throw RawClientError(description: "bad status line \(statusLine)") }
            var headers: [(String, String)] = []
            while let line = try readLine(), !line.isEmpty {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
            if status == 100 && skipContinue { continue }
            return (status, headers)
        }
    }

    /// Reads one complete response (Content-Length, chunked or until close).
    public func readResponse(head isHead: Bool = false) throws -> RawResponse {
        let (status, headers) = try readHead()
        var r = RawResponse(status: status, headers: headers, body: [], complete: true)
        if isHead || status == 204 || status == 304 { return r }
        if let cl = r.header("Content-Length").flatMap(Int.init) {
            r.body = try read(count: cl)
            r.complete = r.body.count == cl
        } else if r.header("Transfer-Encoding")?.lowercased() == "chunked" {
            while let sizeLine = try readLine(), let size = Int(sizeLine.split(separator: ";")[0], radix: 16) {
                if size == 0 { while let l = try readLine(), !l.isEmpty {}; break }
                r.body += try read(count: size)
                _ = try readLine()
            }
        } else {
            while true { let b = try readSome(); if b.isEmpty { break }; r.body += b }
        }
        return r
    }
}

/// One request on a fresh connection (Connection: close).
public func rawRequest(port: Int, _ method: String, _ path: String, headers: [(String, String)] = [],
                body: [UInt8]? = nil, timeout: Double = 10) throws -> RawResponse {
    let c = try RawConnection(port: port, timeout: timeout)
    try c.sendRequest(method, path, headers: headers + [("Connection", "close")], body: body)
    return try c.readResponse(head: method == "HEAD")
}

/// Polls `condition` until true or `timeout` seconds pass.
public func eventually(timeout: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}
