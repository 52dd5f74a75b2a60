import Foundation

/// Piece buffers shared by one server's streams: a stream takes its buffers from here and gives them back when it
/// ends, so the next stream writes into pages that are already mapped. A fresh 2 MiB buffer costs 512 page
/// faults on its first fill (measured: ~2,000 faults, several ms of CPU, per ResNet-50 request with four buffers).
/// At most `maxIdle` buffers wait here; the rest are freed, so memory stays bounded by the live streams plus that.
final class PieceBufferPool: @unchecked Sendable {
    let bufferBytes: Int
    private let maxIdle: Int
    private let lock = NSLock()
    private var idle: [UnsafeMutableRawBufferPointer] = []

    init(bufferBytes: Int, maxIdle: Int) {
        self.bufferBytes = bufferBytes
        self.maxIdle = max(0, maxIdle)
    }

    /// A buffer of `bufferBytes` (64-byte aligned, contents undefined).
    func take() -> UnsafeMutableRawBufferPointer {
        if let b = lock.locked({ idle.popLast() }) { return b }
        return .allocate(byteCount: bufferBytes, alignment: 64)
    }

    /// Takes back buffers from `take()`; frees what does not fit.
    func give(_ buffers: [UnsafeMutableRawBufferPointer]) {
        guard !buffers.isEmpty else { return }
        let surplus: ArraySlice<UnsafeMutableRawBufferPointer> = lock.locked {
            let keep = max(0, min(buffers.count, maxIdle - idle.count))
            idle.append(contentsOf: buffers.prefix(keep))
            return buffers.dropFirst(keep)
        }
        for b in surplus { b.deallocate() }
    }

    /// Buffers waiting to be reused.
    var idleCount: Int { lock.locked { idle.count } }

    deinit { for b in idle { b.deallocate() } }
}
