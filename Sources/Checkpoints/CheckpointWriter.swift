import Tensors

/// One tensor of a state dict as a writer sees it: name, element type and shape (row-major, contiguous).
public struct CheckpointEntry: Sendable, Equatable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    /// Tied tensors: the index of an earlier entry whose storage this one shares (same dtype and element count).
    /// The torch zip writes one storage record for both names, as `torch.save` does; safetensors, which has no
    /// aliasing, writes each name's bytes.
    public var aliasOf: Int?

    public init(name: String, dtype: DType, shape: [Int], aliasOf: Int? = nil) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.aliasOf = aliasOf
    }

    /// Bytes of the entry's data: `numel(shape) * dtype.byteSize` (0 for an empty tensor, one element for shape `[]`).
    public var byteCount: Int { numel(shape) * dtype.byteSize }
}

/// A one-pass writer: every byte offset and the total size are known before the first byte; data is pushed in entry
/// order, in chunks of any size.
///
/// The file is exactly
/// `prefix(0) + data(0) + suffix(0) + prefix(1) + data(1) + suffix(1) + ... + trailer()`,
/// where `data(i)` is entry `i`'s `byteCount` bytes (little-endian, row-major), which the caller writes itself and also
/// passes to `consume` (in order, in chunks of any size, including none for an empty entry).
/// Call order: for each entry in order `prefix(i)`, `consume(_, i)`*, `suffix(i)`; then `trailer()` once.
/// With zero entries the whole file is `trailer()`. Calling out of order is a programming error (precondition).
/// An entry for which `writesData(forEntry:)` is false (a tied tensor whose storage an earlier entry wrote) has no data
/// of its own: the caller calls `prefix` and `suffix` (both empty) and no `consume`; its data range is the earlier one's.
public protocol CheckpointWriter {
    var totalBytes: UInt64 { get }
    /// Absolute byte range of each entry's data within the file, in entry order.
    var dataRanges: [Range<UInt64>] { get }
    /// Bytes that precede entry `index`'s data (file header for index 0, zip local header, padding, ...).
    mutating func prefix(forEntry index: Int) -> [UInt8]
    /// Feed the entry's data bytes (for CRC etc.); the caller writes them to the output itself, unchanged.
    mutating func consume(_ data: UnsafeRawBufferPointer, forEntry index: Int)
    /// Bytes after entry `index`'s data (zip data descriptor, ...).
    mutating func suffix(forEntry index: Int) -> [UInt8]
    /// Bytes after the last entry's suffix (central directory, extra records, EOCD). For zero entries: the whole file.
    mutating func trailer() -> [UInt8]
    /// False for an entry whose bytes are another entry's (tied storage in the torch zip).
    func writesData(forEntry index: Int) -> Bool
}

extension CheckpointWriter {
    public func writesData(forEntry index: Int) -> Bool { true }
}

/// Row-major contiguous strides the way torch computes them (`stride[i] = stride[i+1] * max(shape[i+1], 1)`).
func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var acc = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[i] = acc
        acc = acc &* max(shape[i], 1)   // wrapping: only reachable for empty tensors with absurd dims
    }
    return strides
}

/// Tracks the writer call protocol (prefix → consume* → suffix per entry, then trailer) and byte counts.
struct WriterSequence: Sendable {
    enum Phase: Equatable, Sendable { case between(next: Int), inEntry(Int), done }
    private(set) var phase: Phase = .between(next: 0)
    private(set) var consumed: UInt64 = 0
    let byteCounts: [UInt64]

    init(byteCounts: [UInt64]) { self.byteCounts = byteCounts }

    mutating func beginEntry(_ index: Int) {
        precondition(phase == .between(next: index), "CheckpointWriter: prefix(forEntry: \(index)) called out of order (\(phase))")
        precondition(index < byteCounts.count, "CheckpointWriter: entry \(index) out of range")
        phase = .inEntry(index)
        consumed = 0
    }

    mutating func consume(_ count: Int, _ index: Int) {
        precondition(phase == .inEntry(index), "CheckpointWriter: consume(forEntry: \(index)) outside its prefix/suffix (\(phase))")
        consumed += UInt64(count)
        precondition(consumed <= byteCounts[index], "CheckpointWriter: entry \(index) got more than \(byteCounts[index]) bytes")
    }

    mutating func endEntry(_ index: Int) {
        precondition(phase == .inEntry(index), "CheckpointWriter: suffix(forEntry: \(index)) called out of order (\(phase))")
        precondition(consumed == byteCounts[index], "CheckpointWriter: entry \(index) got \(consumed) of \(byteCounts[index]) bytes")
        phase = .between(next: index + 1)
    }

    mutating func finish() {
        precondition(phase == .between(next: byteCounts.count), "CheckpointWriter: trailer() called before all entries were written (\(phase))")
        phase = .done
    }
}
