import Dispatch

/// A pull source for a streamed response body.
///
/// The server calls `produce` (by default `read`) for one piece at a time, never concurrently, and never on an
/// MHD thread: each piece is produced inside a work item handed to `schedule`, into one of a few buffers the
/// stream reuses. Production pauses
/// while the client is slower than the source (bounded buffering per stream), so a slow
/// reader holds back only its own stream.
public protocol HTTPStreamSource: AnyObject, Sendable {
    /// Fills up to `buffer.count` bytes and returns how many were written; 0 means no more data.
    /// May block and burn CPU. A thrown error aborts the response.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Writes the next piece of the body somewhere inside `buffer` (64-byte aligned, the server's chunk size) and
    /// returns where; empty at the end. The server sends the piece from there, so a source that generates in place
    /// (with room in front for framing) spares a copy. Default: `read` until the buffer is full.
    func produce(into buffer: UnsafeMutableRawBufferPointer) throws -> Range<Int>
    /// Runs one production step off the MHD thread. Override to put production on a job queue
    /// (the first call can be delayed until a worker is free). Default: a shared queue.
    func schedule(_ work: @escaping @Sendable () -> Void)
    /// Called exactly once, after the connection is done with the stream and no `produce` is in
    /// flight: release the job here.
    func streamEnded(_ outcome: HTTPStreamOutcome)
}

extension HTTPStreamSource {
    public func produce(into buffer: UnsafeMutableRawBufferPointer) throws -> Range<Int> {
        var filled = 0
        while filled < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if n <= 0 { break }
            filled += min(n, buffer.count - filled)
        }
        return 0..<filled
    }
    public func schedule(_ work: @escaping @Sendable () -> Void) {
        HTTPStreamDefaults.producerQueue.async(execute: work)
    }
    public func streamEnded(_ outcome: HTTPStreamOutcome) {}
}

enum HTTPStreamDefaults {
    /// A private queue rather than the global pool: producers may run long.
    static let producerQueue = DispatchQueue(label: "httpserver.stream-producer", attributes: .concurrent)
}

/// How a streamed body ended.
public enum HTTPStreamOutcome: Sendable, Equatable {
    /// Every byte was handed to the connection.
    case completed
    /// The client went away (or timed out) before the end.
    case clientGone
    /// The server stopped before the stream could finish.
    case shutdown
    /// The source threw or ended early; the client got a truncated body.
    case failed(String)
    /// No body was ever requested (HEAD).
    case notStarted
}
