import Foundation
import HTTPServer

/// The body of a 200 from POST /initialize: adapts a backend's `PreparedCheckpoint` to the
/// HTTP layer's pull source and runs it under a `JobTicket`.
///
/// The byte stream (and whatever memory the backend needs to generate) is created only when
/// the job gets a worker, and dropped as soon as the stream ends, whatever the reason.
final class CheckpointJob: HTTPStreamSource, @unchecked Sendable {
    private let prepared: any PreparedCheckpoint
    private let ticket: JobTicket
    private let onEnd: @Sendable (HTTPStreamOutcome, Double?) -> Void
    private let lock = NSLock()
    /// Touched only by production steps, which the HTTP layer never runs concurrently.
    private var stream: CheckpointByteStream?
    private var ended = false

    init(prepared: any PreparedCheckpoint, ticket: JobTicket,
         onEnd: @escaping @Sendable (HTTPStreamOutcome, Double?) -> Void) {
        self.prepared = prepared
        self.ticket = ticket
        self.onEnd = onEnd
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try byteStream(pieceBytes: nil).read(into: buffer)
    }

    func produce(into buffer: UnsafeMutableRawBufferPointer) throws -> Range<Int> {
        try byteStream(pieceBytes: buffer.count).produce(into: buffer)
    }

    /// Created on the first production step: sized for the server's piece buffers when it `produce`s, with the
    /// default chunks when it `read`s (a read buffer says nothing about the chunk size).
    private func byteStream(pieceBytes: Int?) -> CheckpointByteStream {
        lock.withLock {
            if let stream { return stream }
            let created = pieceBytes.map(prepared.makeStream(pieceBytes:)) ?? prepared.makeStream()
            stream = created
            return created
        }
    }

    func schedule(_ work: @escaping @Sendable () -> Void) {
        ticket.submit(work)
    }

    func streamEnded(_ outcome: HTTPStreamOutcome) {
        let first: Bool = lock.withLock {
            defer { ended = true; stream = nil }   // frees the generator's memory now
            return !ended
        }
        guard first else { return }
        let seconds = ticket.runSeconds
        ticket.release()
        onEnd(outcome, seconds)
    }
}
