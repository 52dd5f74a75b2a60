import Checkpoints
import Tensors

/// Pulls a checkpoint file out of a plan, one chunk at a time: the writer's framing bytes around
/// each tensor's freshly generated data, produced in chunks of about `chunkBytes` (see `FillCursor`).
/// Memory is bounded by the chunk size, not by the largest tensor (except for the writes produced whole:
/// orthogonal fills and Pretrained copies). `read` and `withNextChunk` use one staging buffer of one chunk,
/// allocated once (64-byte aligned, never zero-filled) and reused: the values are generated straight into it (see
/// `ValueGenerator.next`) and copied once, into the caller's buffer or the file. `produce` generates them straight
/// into the caller's buffer instead (the HTTP layer's pieces), with no staging at all.
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
    /// The current segment's data was generated into `produce`'s buffer, not `staging`.
    private var dataInPlace = false
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
        var written = 0
        while written < buffer.count {
            if offset == segmentCount {
                if !(try refill()) { break }
                continue
            }
            written += copySegment(into: UnsafeMutableRawBufferPointer(rebasing: buffer[written...]))
        }
        return written
    }

    /// Copies the next bytes of the current segment (not beyond it) to `out`; returns how many.
    private func copySegment(into out: UnsafeMutableRawBufferPointer) -> Int {
        guard let to = out.baseAddress, !out.isEmpty else { return 0 }
        return withSegmentBytes(limit: out.count) { to.copyMemory(from: $0.baseAddress!, byteCount: $0.count); return $0.count }
    }

    /// Zero-copy alternative to `read`: calls `body` with the next bytes of the file (at most `limit`), viewed
    /// in the stream's own memory (valid only during the call), and returns its result; nil at the end.
    /// The command line writes these views straight to the file, skipping the copy into a chunk buffer.
    public func withNextChunk<R>(limit: Int = 64 << 20, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        precondition(limit > 0, "CheckpointStream.withNextChunk: limit must be positive")
        while offset == segmentCount {
            if !(try refill()) { return nil }
        }
        return try withSegmentBytes(limit: limit, body)
    }

    /// Calls `body` with the next bytes of the current segment (1 to `limit`, not beyond the segment's head, data or
    /// tail part) and moves past them. The segment must have bytes left.
    private func withSegmentBytes<R>(limit: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
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

    /// Room `produce` keeps in front of the data for a tensor's prefix (a zip local header; longer prefixes, like the
    /// safetensors header, come as pieces of their own) and after it for the suffix (a zip data descriptor).
    public static let pieceHeadroom = 4096
    public static let pieceTailroom = 64

    /// The chunk size to create a stream with so that its chunks are generated in place in piece buffers of `bytes`.
    public static func chunkBytes(forPieceBuffer bytes: Int) -> Int {
        max(64, bytes - pieceHeadroom - pieceTailroom - 32 * 8)
    }

    /// Zero-copy production into a consumer's buffer (the HTTP layer sends from there): writes the next piece of the
    /// file into `buffer` (64-byte aligned) and returns where it is; empty at the end. The first chunk of values is
    /// generated in place at `pieceHeadroom` with its tensor's prefix copied just in front, and whatever follows in the
    /// file is packed after it while it fits (small tensors would otherwise take a piece each), so the piece is one
    /// contiguous range. A buffer too small for the stream's chunks is filled by `read`'s copy instead.
    public func produce(into buffer: UnsafeMutableRawBufferPointer) throws -> Range<Int> {
        if offset < segmentCount { return 0..<copySegment(into: buffer) }   // the rest of a long prefix or suffix
        let headroom = Self.pieceHeadroom
        guard buffer.count >= headroom + stagingCapacity + Self.pieceTailroom,
              Int(bitPattern: buffer.baseAddress) % 64 == 0 else { return 0..<(try read(into: buffer)) }
        let base = buffer.baseAddress!
        var start = headroom, end = headroom
        var first = true
        while true {
            let region = UnsafeMutableRawBufferPointer(rebasing: buffer[(first ? 0 : end)...])
            guard try refill(dataInto: region, headroom: first ? headroom : nil) else { break }
            guard dataInPlace else {
                // A prefix longer than the headroom, a tied entry, the trailer, or values that do not fit after `end`
                // (then the segment is at most the prefix; at the start of a buffer they always fit).
                if segmentCount == 0 {
                    if first { continue }   // a tied entry with no bytes of its own
                    break
                }
                if first { return 0..<copySegment(into: buffer) }
                end += copySegment(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
                if offset < segmentCount { break }
                continue
            }
            let at = first ? headroom - head.count : end
            if first { start = at }
            head.withUnsafeBytes { base.advanced(by: at).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            end = at + head.count + dataCount
            offset = head.count + dataCount
            position += UInt64(offset)
            first = false
            guard tail.count <= buffer.count - end else { break }   // the suffix is the next piece
            tail.withUnsafeBytes { base.advanced(by: end).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            end += tail.count
            offset += tail.count
            position += UInt64(tail.count)
        }
        return start..<end
    }

    /// The staging buffer: one chunk.
    private func stagingBuffer() -> UnsafeMutableRawBufferPointer {
        if let s = staging { return s }
        let s = UnsafeMutableRawBufferPointer.allocate(byteCount: stagingCapacity, alignment: 64)
        staging = s
        return s
    }

    /// Produces the next segment: [entry i's prefix +] a chunk of its data [+ its suffix], or the trailer.
    /// With `target`, a chunk of values is generated into it (`dataInPlace`) at `headroom`, or right after the prefix
    /// when nil, unless the prefix is longer than `headroom` or the values do not fit: then the segment is only the
    /// prefix (maybe empty) and the values come with the next refill.
    private func refill(dataInto target: UnsafeMutableRawBufferPointer? = nil, headroom: Int? = nil) throws -> Bool {
        offset = 0
        head = []
        tail = []
        dataCount = 0
        dataInPlace = false
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
            let buffer: UnsafeMutableRawBufferPointer
            if let target {
                let at = headroom ?? head.count
                guard head.count <= at, at <= target.count, target.count - at >= generator.upcomingBytes else { return true }
                buffer = UnsafeMutableRawBufferPointer(rebasing: target[at...])
                dataInPlace = true
            } else {
                buffer = stagingBuffer()
            }
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
