import Checkpoints
import Tensors

/// Pulls a checkpoint file out of a plan, one chunk at a time: the writer's framing bytes around
/// each tensor's freshly generated data, produced in chunks of about `chunkBytes` (see `FillCursor`).
/// Memory is bounded by the chunk size, not by the largest tensor (except for the writes produced whole:
/// orthogonal fills and Pretrained copies): one staging buffer of one chunk, allocated once (64-byte aligned,
/// never zero-filled) and reused; the values are generated straight into it (see `ValueGenerator.next`)
/// and copied once, into the caller's buffer.
public final class CheckpointStream {
    private var writer: any CheckpointWriter
    private let generator: ValueGenerator
    private let plan: Plan
    /// Default chunk size (bytes of generated data staged at a time).
    public static let defaultChunkBytes = ValueGenerator.defaultChunkBytes
    /// The current segment: `head` (writer prefix, on a tensor's first chunk), `dataCount` bytes of `staging`,
    /// `tail` (writer suffix, on a tensor's last chunk).
    private var head: [UInt8] = []
    private var tail: [UInt8] = []
    private var dataCount = 0
    private var staging: UnsafeMutableRawBufferPointer?
    /// Read position inside the current segment.
    private var offset = 0
    private var nextEntry = 0
    /// The entry whose chunks are being produced.
    private var inEntry: Int?
    private var finished = false
    /// Bytes handed out so far.
    public private(set) var position: UInt64 = 0

    init(plan: Plan, writer: any CheckpointWriter, chunkBytes: Int = CheckpointStream.defaultChunkBytes) {
        self.plan = plan
        self.writer = writer
        self.generator = ValueGenerator(plan: plan, chunkBytes: chunkBytes)
    }

    /// Size of the staging buffer (allocated on the first tensor): one chunk, at most the largest tensor.
    public var stagingCapacity: Int { max(generator.maxChunkBytes, 64) }

    deinit { staging?.deallocate() }

    private var segmentCount: Int { head.count + dataCount + tail.count }

    /// Fills up to `buffer.count` bytes; returns how many, 0 at the end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let out = buffer.baseAddress else { return 0 }
        var written = 0
        while written < buffer.count {
            if offset == segmentCount {
                if !(try refill()) { break }
                continue
            }
            let room = buffer.count - written
            var n = 0
            if offset < head.count {
                n = min(room, head.count - offset)
                head.withUnsafeBytes { out.advanced(by: written).copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
            } else if offset < head.count + dataCount {
                let at = offset - head.count
                n = min(room, dataCount - at)
                out.advanced(by: written).copyMemory(from: staging!.baseAddress! + at, byteCount: n)
            } else {
                let at = offset - head.count - dataCount
                n = min(room, tail.count - at)
                tail.withUnsafeBytes { out.advanced(by: written).copyMemory(from: $0.baseAddress! + at, byteCount: n) }
            }
            offset += n
            written += n
        }
        position += UInt64(written)
        return written
    }

    /// Zero-copy alternative to `read`: calls `body` with the next bytes of the file (at most `limit`), viewed
    /// in the stream's own memory (valid only during the call), and returns its result; nil at the end.
    /// The command line writes these views straight to the file, skipping the copy into a chunk buffer.
    public func withNextChunk<R>(limit: Int = 64 << 20, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        precondition(limit > 0, "CheckpointStream.withNextChunk: limit must be positive")
        while offset == segmentCount {
            if !(try refill()) { return nil }
        }
        let result: R, n: Int
        if offset < head.count {
            n = min(limit, head.count - offset)
            result = try head.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + n)])) }
        } else if offset < head.count + dataCount {
            let at = offset - head.count
            n = min(limit, dataCount - at)
            result = try body(UnsafeRawBufferPointer(start: staging!.baseAddress! + at, count: n))
        } else {
            let at = offset - head.count - dataCount
            n = min(limit, tail.count - at)
            result = try tail.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[at..<(at + n)])) }
        }
        offset += n
        position += UInt64(n)
        return result
    }

    /// The staging buffer: one chunk.
    private func stagingBuffer() -> UnsafeMutableRawBufferPointer {
        if let s = staging { return s }
        let s = UnsafeMutableRawBufferPointer.allocate(byteCount: stagingCapacity, alignment: 64)
        staging = s
        return s
    }

    /// Produces the next segment: [entry i's prefix +] a chunk of its data [+ its suffix], or the trailer.
    private func refill() throws -> Bool {
        offset = 0
        head = []
        tail = []
        dataCount = 0
        if inEntry == nil, nextEntry < plan.tensors.count {
            let i = nextEntry
            head = writer.prefix(forEntry: i)
            if !writer.writesData(forEntry: i) {
                // A tied tensor whose storage an earlier entry wrote: nothing to generate.
                tail = writer.suffix(forEntry: i)
                nextEntry += 1
                return true
            }
            try generator.begin(i)
            inEntry = i
        }
        if let i = inEntry {
            let buffer = stagingBuffer()
            let n = try generator.next(into: buffer)
            if n > 0 {
                writer.consume(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), forEntry: i)
                dataCount = n
            }
            if generator.isFinished {
                tail = writer.suffix(forEntry: i)
                inEntry = nil
                nextEntry += 1
            }
            return true
        }
        if !finished {
            finished = true
            head = writer.trailer()
            return !head.isEmpty
        }
        return false
    }
}
