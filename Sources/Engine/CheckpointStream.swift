import Checkpoints
import Tensors

/// Pulls a checkpoint file out of a plan, one tensor at a time: the writer's framing bytes around
/// each tensor's freshly generated data. Memory is bounded by the largest tensor: one staging buffer,
/// allocated once (64-byte aligned, never zero-filled) and reused for every tensor; the values are
/// generated straight into it (see `ValueGenerator.generate`) and copied once, into the caller's buffer.
public final class CheckpointStream {
    private var writer: any CheckpointWriter
    private let generator: ValueGenerator
    private let plan: Plan
    /// The current segment: `head` (writer prefix), `dataCount` bytes of `staging`, `tail` (writer suffix).
    private var head: [UInt8] = []
    private var tail: [UInt8] = []
    private var dataCount = 0
    private var staging: UnsafeMutableRawBufferPointer?
    /// Read position inside the current segment.
    private var offset = 0
    private var nextEntry = 0
    private var finished = false
    /// Bytes handed out so far.
    public private(set) var position: UInt64 = 0

    init(plan: Plan, writer: any CheckpointWriter) {
        self.plan = plan
        self.writer = writer
        self.generator = ValueGenerator(plan: plan)
    }

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

    /// The staging buffer, sized for the largest tensor of the plan.
    private func stagingBuffer() -> UnsafeMutableRawBufferPointer {
        if let s = staging { return s }
        let largest = plan.tensors.map { $0.record.count * $0.outputDType.byteSize }.max() ?? 0
        let s = UnsafeMutableRawBufferPointer.allocate(byteCount: max(largest, 64), alignment: 64)
        staging = s
        return s
    }

    /// Produces the next segment: entry i's prefix + data + suffix, or the trailer.
    private func refill() throws -> Bool {
        offset = 0
        if nextEntry < plan.tensors.count {
            let i = nextEntry
            let size = plan.tensors[i].record.count * plan.tensors[i].outputDType.byteSize
            head = writer.prefix(forEntry: i)
            let data = UnsafeMutableRawBufferPointer(rebasing: stagingBuffer()[0..<size])
            dataCount = 0
            try generator.generate(i, into: data)
            dataCount = size
            writer.consume(UnsafeRawBufferPointer(data), forEntry: i)
            tail = writer.suffix(forEntry: i)
            nextEntry += 1
            return true
        }
        dataCount = 0
        tail = []
        if !finished {
            finished = true
            head = writer.trailer()
            return !head.isEmpty
        }
        head = []
        return false
    }
}
