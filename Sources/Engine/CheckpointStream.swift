import Checkpoints
import Tensors

/// Pulls a checkpoint file out of a plan, one tensor at a time: the writer's framing bytes around
/// each tensor's freshly generated data. Memory is bounded by the largest tensor.
public final class CheckpointStream {
    private var writer: any CheckpointWriter
    private let generator: ValueGenerator
    private let plan: Plan
    private var pending: [UInt8] = []
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

    /// Fills up to `buffer.count` bytes; returns how many, 0 at the end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var written = 0
        while written < buffer.count {
            if offset == pending.count {
                if !(try refill()) { break }
                continue
            }
            let n = min(buffer.count - written, pending.count - offset)
            pending.withUnsafeBytes { src in
                buffer.baseAddress!.advanced(by: written).copyMemory(from: src.baseAddress!.advanced(by: offset), byteCount: n)
            }
            offset += n
            written += n
        }
        position += UInt64(written)
        return written
    }

    /// Produces the next segment: entry i's prefix + data + suffix, or the trailer.
    private func refill() throws -> Bool {
        offset = 0
        if nextEntry < plan.tensors.count {
            let i = nextEntry
            let size = plan.tensors[i].record.count * plan.tensors[i].outputDType.byteSize
            var segment = writer.prefix(forEntry: i)
            let dataStart = segment.count
            segment.append(contentsOf: repeatElement(0, count: size))
            try segment.withUnsafeMutableBytes { all in
                let data = UnsafeMutableRawBufferPointer(rebasing: all[dataStart..<(dataStart + size)])
                try generator.generate(i, into: data)
                writer.consume(UnsafeRawBufferPointer(data), forEntry: i)
            }
            segment.append(contentsOf: writer.suffix(forEntry: i))
            pending = segment
            nextEntry += 1
            return true
        }
        if !finished {
            finished = true
            pending = writer.trailer()
            return !pending.isEmpty
        }
        pending = []
        return false
    }
}
