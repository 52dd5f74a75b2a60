import HTTPTestSupport
import Foundation
import Testing
@testable import HTTPServer

@Suite struct BasicResponses {
    @Test func ephemeralPortAndFixedBody() throws {
        let (server, handler) = try startServer()
        defer { server.stop() }
        #expect(server.port > 0)
        let r = try rawRequest(port: server.port, "GET", "/hello")
        #expect(r.status == 200)
        #expect(r.text == "hello\n")
        #expect(r.header("Content-Length") == "6")
        #expect(r.header("X-Test") == "1")
        #expect(eventually { handler.allExchanges.count == 1 })
        #expect(handler.allExchanges.first?.status == 200)
        #expect(handler.allExchanges.first?.bytesSent == 6)
    }

    @Test func headHasSameHeadersAndNoBody() throws {
        let (server, _) = try startServer()
        defer { server.stop() }
        let c = try RawConnection(port: server.port)
        try c.sendRequest("HEAD", "/hello")
        let head = try c.readResponse(head: true)
        #expect(head.status == 200)
        #expect(head.header("Content-Length") == "6")
        #expect(head.header("X-Test") == "1")
        // The next response on the same connection must start right away: no body bytes leaked.
        try c.sendRequest("GET", "/hello", headers: [("Connection", "close")])
        let get = try c.readResponse()
        #expect(get.status == 200 && get.text == "hello\n")
    }

    @Test func headOfStreamNeverPullsTheSource() throws {
        let (server, handler) = try startServer()
        defer { server.stop() }
        let r = try rawRequest(port: server.port, "HEAD", "/stream?size=5000000")
        #expect(r.status == 200)
        #expect(r.header("Content-Length") == "5000000")
        let source = try #require(handler.lastSource)
        #expect(eventually { source.ended != nil })
        #expect(source.ended == .notStarted)
        #expect(source.reads == 0)
    }

    @Test func bodyAndQueryReachTheHandlerOverKeepAlive() throws {
        let (server, _) = try startServer()
        defer { server.stop() }
        let c = try RawConnection(port: server.port)
        let body = (0..<40000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try c.sendRequest("POST", "/echo?q=a%20b", body: body)
        let r1 = try c.readResponse()
        #expect(r1.status == 200)
        #expect(r1.header("X-Body-Count") == "40000")
        #expect(r1.header("X-Query") == "a b")
        #expect(r1.body == body)
        try c.sendRequest("POST", "/echo", headers: [("Connection", "close")], body: Array("second".utf8))
        let r2 = try c.readResponse()
        #expect(r2.text == "second")
    }
}

@Suite struct BodyLimits {
    @Test func declaredOversizedBodyIsRefusedBeforeUpload() throws {
        let (server, handler) = try startServer { $0.maxBodyBytes = 1000 }
        defer { server.stop() }
        let c = try RawConnection(port: server.port)
        // With Expect: 100-continue the client waits; the server must answer 413 without asking for the body.
        try c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\n\r\n")
        let (status, _) = try c.readHead(skipContinue: false)
        #expect(status == 413)
        #expect(eventually { handler.allExchanges.count == 1 })
        #expect(handler.allExchanges.first?.status == 413)
    }

    @Test func chunkedBodyOverTheLimitGets413() throws {
        let (server, _) = try startServer { $0.maxBodyBytes = 1000 }
        defer { server.stop() }
        let c = try RawConnection(port: server.port)
        var request = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        for _ in 0..<5 { request += "200\r\n" + String(repeating: "a", count: 512) + "\r\n" }
        request += "0\r\n\r\n"
        try c.send(request)
        let r = try c.readResponse()
        #expect(r.status == 413)
    }

    @Test func bodyAtTheLimitIsAccepted() throws {
        let (server, _) = try startServer { $0.maxBodyBytes = 1000 }
        defer { server.stop() }
        let r = try rawRequest(port: server.port, "POST", "/echo", body: [UInt8](repeating: 1, count: 1000))
        #expect(r.status == 200)
        #expect(r.body.count == 1000)
    }
}

@Suite struct Streaming {
    @Test func knownLengthStreamDeliversExactlyContentLengthBytes() throws {
        let (server, handler) = try startServer()
        defer { server.stop() }
        let size: UInt64 = 3_000_017   // not a multiple of the chunk size
        let r = try rawRequest(port: server.port, "GET", "/stream?size=\(size)")
        #expect(r.status == 200)
        #expect(r.header("Content-Length") == String(size))
        #expect(r.complete)
        #expect(UInt64(r.body.count) == size)
        #expect(r.body.enumerated().allSatisfy { $0.element == patternByte(UInt64($0.offset)) })
        let source = try #require(handler.lastSource)
        #expect(eventually { source.ended != nil })
        #expect(source.ended == .completed)
        #expect(source.maxConcurrentReads == 1)
        #expect(eventually { handler.allExchanges.first?.bytesSent == size })
        #expect(handler.allExchanges.first?.completed == true)
        #expect(server.activeStreams == 0)
    }

    /// Streams hand their piece buffers back to the server's pool: the next stream fills the same memory (no fresh
    /// pages to fault in) and still sends exactly its own bytes; the pool never keeps more than its cap.
    @Test func laterStreamsReuseThePieceBuffers() throws {
        let (server, handler) = try startServer {
            $0.streamChunkBytes = 64 << 10
            $0.streamBufferBytes = 256 << 10
        }
        defer { server.stop() }
        #expect(server.pieceBuffers.idleCount == 0)
        for (n, size) in [1_000_003, 700_001].enumerated() {
            let r = try rawRequest(port: server.port, "GET", "/stream?size=\(size)")
            #expect(r.complete && r.body.count == size)
            #expect(r.body.enumerated().allSatisfy { $0.element == patternByte(UInt64($0.offset)) }, "stream \(n)")
            #expect(eventually { handler.lastSource?.ended == .completed && server.activeStreams == 0 })
            // At most the stream's four slots were ever taken; the second stream takes them again.
            #expect((1...4).contains(server.pieceBuffers.idleCount), "idle \(server.pieceBuffers.idleCount)")
        }
        let pool = PieceBufferPool(bufferBytes: 4096, maxIdle: 2)
        let taken = (0..<3).map { _ in pool.take() }
        pool.give(taken)
        #expect(pool.idleCount == 2)
        let again = pool.take()
        #expect(taken.prefix(2).contains { $0.baseAddress == again.baseAddress })
        pool.give([again])
    }

    @Test func emptyStreamCompletes() throws {
        let (server, _) = try startServer()
        defer { server.stop() }
        let r = try rawRequest(port: server.port, "GET", "/stream?size=0")
        #expect(r.status == 200 && r.body.isEmpty && r.header("Content-Length") == "0")
    }

    @Test func slowSourceStillStreamsEverything() throws {
        let (server, handler) = try startServer { $0.streamChunkBytes = 16 << 10 }
        defer { server.stop() }
        let r = try rawRequest(port: server.port, "GET", "/stream?size=200000&delay=0.01")
        #expect(r.complete && r.body.count == 200_000)
        #expect(eventually { handler.lastSource?.ended == .completed })
    }

    @Test func slowReaderBoundsBuffering() throws {
        let (server, handler) = try startServer {
            $0.streamChunkBytes = 64 << 10
            $0.streamBufferBytes = 256 << 10
        }
        defer { server.stop() }
        let c = try RawConnection(port: server.port)
        c.setReceiveBuffer(16 << 10)
        try c.sendRequest("GET", "/stream?size=100000000")
        _ = try c.readHead()
        _ = try c.read(count: 100_000)
        usleep(500_000)
        // Kernel socket buffers absorb a few MB; the source must not run ahead much further.
        let source = try #require(handler.lastSource)
        #expect(source.bytesProduced < 12_000_000, "produced \(source.bytesProduced)")
    }

    @Test func sourceFailureTruncatesTheBody() throws {
        let (server, handler) = try startServer()
        defer { server.stop() }
        let r = try rawRequest(port: server.port, "GET", "/stream?size=2000000&failAt=600000")
        #expect(r.status == 200)
        #expect(!r.complete)
        #expect(r.body.count < 2_000_000)
        #expect(eventually { handler.lastSource?.ended != nil })
        if case .failed = handler.lastSource?.ended {} else { Issue.record("outcome \(String(describing: handler.lastSource?.ended))") }
    }
}

@Suite struct Disconnects {
    @Test func clientHangingUpWhileDataFlowsCancelsTheSource() throws {
        let (server, handler) = try startServer()
        defer { server.stop() }
        do {
            let c = try RawConnection(port: server.port)
            try c.sendRequest("GET", "/stream?size=10000000000")
            _ = try c.readHead()
            _ = try c.read(count: 1_000_000)
        }   // deinit closes the socket
        let source = try #require(handler.lastSource)
        #expect(eventually(timeout: 5) { source.ended != nil })
        #expect(source.ended == .clientGone)
        let produced = source.bytesProduced
        usleep(300_000)
        #expect(source.bytesProduced == produced, "source kept producing after cancel")
        #expect(server.activeStreams == 0)
    }

    @Test func clientHangingUpWhileSuspendedIsNoticedByTheWatchdog() throws {
        let (server, handler) = try startServer { $0.streamChunkBytes = 4096 }
        defer { server.stop() }
        do {
            let c = try RawConnection(port: server.port)
            // The first chunk takes 2.5 s: the connection sits suspended, and MHD itself would
            // not notice the hang-up until data flows again.
            try c.sendRequest("GET", "/stream?size=10000000&delay=2.5")
            _ = try c.readHead()
        }
        let start = Date()
        #expect(eventually(timeout: 5) { handler.allExchanges.count == 1 })
        #expect(Date().timeIntervalSince(start) < 1.5, "disconnect noticed after \(Date().timeIntervalSince(start)) s")
        #expect(handler.allExchanges.first?.completed == false)
        let source = try #require(handler.lastSource)
        #expect(eventually(timeout: 5) { source.ended != nil })
        #expect(source.ended == .clientGone)
        // The hang-up may come before the first read is even scheduled; what matters is that no
        // chunk is produced after it.
        #expect(source.reads <= 1)
    }
}

@Suite struct Shutdown {
    @Test func gracefulStopLetsAnInFlightStreamFinish() throws {
        let (server, handler) = try startServer { $0.streamChunkBytes = 16 << 10 }
        let c = try RawConnection(port: server.port)
        // ~30 chunks × 30 ms ≈ 1 s of streaming.
        try c.sendRequest("GET", "/stream?size=491520&delay=0.03")
        _ = try c.readHead()
        let stopped = DispatchSemaphore(value: 0)
        Thread.detachNewThread { server.stop(grace: 10); stopped.signal() }
        var body: [UInt8] = []
        while body.count < 491_520 {
            let b = try c.readSome()
            if b.isEmpty { break }
            body += b
        }
        #expect(body.count == 491_520)
        #expect(stopped.wait(timeout: .now() + 5) == .success)
        #expect(handler.lastSource?.ended == .completed)
    }

    @Test func stopAfterGraceCancelsSuspendedStreamsWithoutAborting() throws {
        let (server, handler) = try startServer { $0.streamChunkBytes = 4096 }
        let c = try RawConnection(port: server.port)
        try c.sendRequest("GET", "/stream?size=100000000&delay=0.2")
        _ = try c.readHead()
        let t0 = Date()
        server.stop(grace: 0.3)   // would SIGABRT if a connection were still suspended
        #expect(Date().timeIntervalSince(t0) < 3)
        #expect(eventually { handler.lastSource?.ended != nil })
        #expect(handler.lastSource?.ended == .shutdown)
        server.stop()   // idempotent
    }

    @Test func quiescedServerRefusesNewConnections() throws {
        let (server, _) = try startServer()
        server.quiesce()
        // The listen socket stays open (MHD rule) but nobody accepts: the request gets no answer.
        #expect(throws: (any Error).self) { try rawRequest(port: server.port, "GET", "/hello", timeout: 0.5) }
        server.stop()
    }
}
