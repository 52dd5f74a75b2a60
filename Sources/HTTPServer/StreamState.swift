import CMicroHTTPD
import CMicroHTTPDShim
import Foundation

/// One streamed response: the MHD content reader on one side, the Dispatch producer on the
/// other, one lock between them.
///
/// Rules from the libmicrohttpd research (0.9.75), all enforced here:
/// * the reader returns n > 0, -1 (end), -2 (abort), or 0 only right after suspending;
/// * `suspended` is set only by the reader and test-and-cleared under `lock` before any
///   `MHD_resume_connection` (resuming a running connection is undefined behaviour), and the
///   `MHD_Connection*` is touched off the MHD thread only while `suspended` is true;
/// * lock order is always this lock, then MHD's internal mutex (suspend/resume take it).
final class StreamState: @unchecked Sendable {
    enum CancelReason { case clientGone, shutdown }

    let length: UInt64
    let source: any HTTPStreamSource
    private let pool: PieceBufferPool
    private let connection: OpaquePointer
    private let fd: Int32
    private let lock = NSLock()
    private weak var registry: StreamRegistry?

    /// Pieces produced and not yet handed to MHD, in order; `headOffset` bytes of the first are handed.
    private var ready: [(buffer: UnsafeMutableRawBufferPointer, range: Range<Int>)] = []
    private var headOffset = 0
    /// Piece buffers not in use. At most `slots` are ever taken from the server's pool (lazily, then reused: a fresh
    /// allocation per piece costs a page fault per 4 KiB), all given back when the stream ends.
    private var idle: [UnsafeMutableRawBufferPointer] = []
    private var allocated = 0
    private let slots: Int
    private var produced: UInt64 = 0
    private(set) var delivered: UInt64 = 0
    private var started = false
    private var producing = false       // a production step is scheduled or running
    private var reading = false         // a production step is running (the source is in use)
    private var failure: String?
    private var cancelled: CancelReason?
    private var suspended = false
    private var resumePending = false   // resumed, MHD has not run the reader yet
    private var connectionDone = false
    private var ended = false
    private var outcome: HTTPStreamOutcome = .notStarted

    init(length: UInt64, source: any HTTPStreamSource, connection: OpaquePointer,
         pool: PieceBufferPool, bufferBytes: Int, registry: StreamRegistry, cancelled: Bool) {
        self.length = length
        self.source = source
        self.connection = connection
        self.fd = mhd_shim_connection_fd(connection)
        self.pool = pool
        // Two at least, so the next piece is produced while MHD sends the current one.
        self.slots = max(2, bufferBytes / pool.bufferBytes)
        self.registry = registry
        self.cancelled = cancelled ? .shutdown : nil
    }

    // MARK: MHD side (MHD thread)

    /// The content reader. `max` ≤ the response block size.
    func read(into buf: UnsafeMutablePointer<CChar>, max: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        resumePending = false
        if cancelled != nil || failure != nil { return MHD_CONTENT_READER_END_WITH_ERROR }
        started = true
        if ready.isEmpty {   // pieces are never empty
            if produced >= length { return MHD_CONTENT_READER_END_OF_STREAM }
            suspended = true
            MHD_suspend_connection(connection)
            startProducingLocked()
            return 0
        }
        var written = 0
        while written < max, let piece = ready.first {
            let n = Swift.min(max - written, piece.range.count - headOffset)
            UnsafeMutableRawPointer(buf + written).copyMemory(from: piece.buffer.baseAddress! + piece.range.lowerBound + headOffset,
                                                             byteCount: n)
            written += n
            headOffset += n
            if headOffset == piece.range.count {
                ready.removeFirst()
                idle.append(piece.buffer)
                headOffset = 0
            }
        }
        delivered += UInt64(written)
        startProducingLocked()
        return written
    }

    /// The request-completed callback: the connection is done with this stream.
    func connectionFinished(cleanly: Bool) -> HTTPStreamOutcome {
        let result: HTTPStreamOutcome
        lock.lock()
        connectionDone = true
        suspended = false
        resumePending = false
        if let failure {
            outcome = .failed(failure)
        } else if cleanly && delivered == length {
            outcome = started || length == 0 ? .completed : .notStarted
        } else if cleanly && !started {
            outcome = .notStarted
        } else {
            outcome = cancelled == .shutdown ? .shutdown : .clientGone
            if cancelled == nil { cancelled = .clientGone }
        }
        result = outcome
        let end = takeEndLocked()
        lock.unlock()
        if end { finish() }
        return result
    }

    // MARK: Producer side (Dispatch)

    private func startProducingLocked() {
        guard !producing, cancelled == nil, failure == nil, produced < length,
              !idle.isEmpty || allocated < slots else { return }
        producing = true
        source.schedule { [self] in produceOne() }
    }

    private func produceOne() {
        lock.lock()
        // The stream already ended while this step waited (e.g. queued behind other jobs).
        if ended { lock.unlock(); return }
        if cancelled != nil || connectionDone {
            producing = false
            let end = takeEndLocked()
            lock.unlock()
            if end { finish() }
            return
        }
        let remaining = length - produced
        let buffer: UnsafeMutableRawBufferPointer
        if let b = idle.popLast() {
            buffer = b
        } else {
            buffer = pool.take()
            allocated += 1
        }
        reading = true
        lock.unlock()

        var piece = 0..<0
        var error: String?
        do {
            piece = try source.produce(into: buffer)
            if piece.lowerBound < 0 || piece.upperBound > buffer.count {
                error = "stream source returned \(piece) for a buffer of \(buffer.count) bytes"
            } else if UInt64(piece.count) > remaining {
                error = "stream source produced more than the \(length) bytes announced"
            } else if piece.isEmpty {
                error = "stream source ended after \(produced) of \(length) bytes"
            }
        } catch let e {
            error = "stream source failed: \(e)"
        }

        lock.lock()
        producing = false
        reading = false
        if cancelled != nil || connectionDone {
            idle.append(buffer)
            let end = takeEndLocked()
            lock.unlock()
            if end { finish() }
            return
        }
        if let error {
            idle.append(buffer)
            failure = error
        } else {
            ready.append((buffer, piece))
            produced += UInt64(piece.count)
        }
        resumeLocked()
        startProducingLocked()
        lock.unlock()
    }

    // MARK: Cancellation (watchdog, shutdown)

    /// Watchdog step: a suspended connection does not notice its client leaving, so poll the
    /// socket. Returns true if the stream was cancelled.
    @discardableResult
    func checkPeer() -> Bool {
        lock.locked {
            guard suspended, cancelled == nil, mhd_shim_peer_gone(fd) != 0 else { return false }
            cancelled = .clientGone
            resumeLocked()   // the reader then returns -2 and MHD completes the request
            return true
        }
    }

    /// Aborts the stream (server shutdown). Safe from any thread, any number of times.
    func cancelForShutdown() {
        lock.locked {
            if cancelled == nil, !connectionDone { cancelled = .shutdown }
            resumeLocked()
        }
    }

    /// True while MHD holds this connection suspended (or has not yet processed a resume):
    /// MHD_stop_daemon must not run then.
    var isParked: Bool { lock.locked { suspended || resumePending } }

    private func resumeLocked() {
        guard suspended else { return }
        suspended = false
        resumePending = true
        MHD_resume_connection(connection)
    }

    // MARK: End

    /// The stream ends once the connection is done and the source is not in use. A step that
    /// is scheduled but not started does not hold it up: a job waiting for a worker must give
    /// its queue place back as soon as its client is gone. Such a step later finds `ended`.
    private func takeEndLocked() -> Bool {
        guard connectionDone, !reading, !ended else { return false }
        ended = true
        return true
    }

    private func finish() {
        lock.locked { releaseBuffersLocked() }
        registry?.remove(self)
        source.streamEnded(outcome)
    }

    /// MHD reads no more (the connection is done) and no production step holds a buffer (not `reading`).
    private func releaseBuffersLocked() {
        pool.give(idle + ready.map(\.buffer))
        idle = []
        ready = []
    }

    deinit { releaseBuffersLocked() }
}
