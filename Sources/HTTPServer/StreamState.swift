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
    private let chunkBytes: Int
    private let bufferBytes: Int
    private let connection: OpaquePointer
    private let fd: Int32
    private let lock = NSLock()
    private weak var registry: StreamRegistry?

    private var chunks: [[UInt8]] = []
    private var headOffset = 0          // bytes of chunks[0] already handed to MHD
    private var buffered = 0
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
         chunkBytes: Int, bufferBytes: Int, registry: StreamRegistry, cancelled: Bool) {
        self.length = length
        self.source = source
        self.connection = connection
        self.fd = mhd_shim_connection_fd(connection)
        self.chunkBytes = max(4096, chunkBytes)
        self.bufferBytes = max(self.chunkBytes, bufferBytes)
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
        if buffered == 0 {
            if produced >= length { return MHD_CONTENT_READER_END_OF_STREAM }
            suspended = true
            MHD_suspend_connection(connection)
            startProducingLocked()
            return 0
        }
        var written = 0
        while written < max, !chunks.isEmpty {
            let n = chunks[0].withUnsafeBytes { src -> Int in
                let n = Swift.min(max - written, src.count - headOffset)
                UnsafeMutableRawPointer(buf + written).copyMemory(from: src.baseAddress! + headOffset, byteCount: n)
                return n
            }
            written += n
            headOffset += n
            if headOffset == chunks[0].count {
                chunks.removeFirst()
                headOffset = 0
            }
        }
        buffered -= written
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
              buffered + chunkBytes <= bufferBytes || buffered == 0 else { return }
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
        let want = Int(Swift.min(UInt64(chunkBytes), length - produced))
        reading = true
        lock.unlock()

        // Not zero-filled first: the source overwrites it (the array keeps only the `filled` bytes it wrote).
        var chunk: [UInt8] = []
        var filled = 0
        var error: String?
        do {
            chunk = try [UInt8](unsafeUninitializedCapacity: want) { buffer, count in
                defer { count = filled }
                while filled < want {
                    let n = try source.read(into: UnsafeMutableRawBufferPointer(start: buffer.baseAddress! + filled, count: want - filled))
                    if n <= 0 { break }
                    filled += Swift.min(n, want - filled)
                    if isCancelled { return }
                }
            }
            if filled < want && !isCancelled {
                error = "stream source ended after \(produced + UInt64(filled)) of \(length) bytes"
            }
        } catch let e {
            error = "stream source failed: \(e)"
        }

        lock.lock()
        producing = false
        reading = false
        if cancelled != nil || connectionDone {
            let end = takeEndLocked()
            lock.unlock()
            if end { finish() }
            return
        }
        if let error {
            failure = error
        } else {
            chunks.append(chunk)
            buffered += filled
            produced += UInt64(filled)
        }
        resumeLocked()
        startProducingLocked()
        lock.unlock()
    }

    private var isCancelled: Bool { lock.locked { cancelled != nil || connectionDone } }

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
        registry?.remove(self)
        source.streamEnded(outcome)
    }
}
