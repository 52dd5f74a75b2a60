#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A reader failure, with a message meant for a human (it names the file part and what was wrong).
public struct CheckpointReadError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The file could not be opened or read.
        case io
        /// Not a safetensors, torch zip or legacy torch file (or a recognized but rejected kind, e.g. TorchScript).
        case unrecognizedFormat
        /// The file ends before a structure it declares.
        case truncated
        /// Inconsistent or invalid structure.
        case malformed
        /// Valid but outside what this reader supports (compressed zip entries, big-endian data, protocol 0/1 opcodes...).
        case unsupported
        /// A `ReadLimits` bound was hit.
        case limitExceeded
        /// A tensor of the state dict depends on an object the reader refuses to construct.
        case unsafeContent
        /// The file holds no usable state dict (e.g. a whole pickled module).
        case notAStateDict
    }
    public var kind: Kind
    public var message: String
    public init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }
    public var description: String { "\(kind.rawValue): \(message)" }
}

/// Bounds applied while reading untrusted files.
public struct ReadLimits: Sendable, Equatable {
    /// Largest pickle (`data.pkl`, or the legacy pickles) accepted.
    public var maxPickleBytes: Int = 512 << 20
    /// Pickle opcodes executed per pickle.
    public var maxPickleOps: Int = 50_000_000
    /// Items on the pickle stack plus MARK levels.
    public var maxPickleStack: Int = 1 << 22
    /// Memo entries.
    public var maxPickleMemo: Int = 1 << 22
    /// Nesting depth of containers/objects built by the pickle (tuples in tuples, lists in lists, ...).
    public var maxNestingDepth: Int = 256
    /// Zip central directory entries.
    public var maxZipEntries: Int = 1 << 20
    /// Zip central directory bytes.
    public var maxZipDirectoryBytes: Int = 256 << 20
    /// A view with more elements than its storage (stride 0, `expand`) may materialize at most this many bytes.
    public var maxExpandedViewBytes: Int = 1 << 30
    /// safetensors JSON header bytes (the official loader's limit).
    public var maxSafetensorsHeaderBytes: Int = 100_000_000
    /// Tensors in the state dict.
    public var maxTensors: Int = 1 << 22
    /// Dimensions of one tensor.
    public var maxRank: Int = 64

    public init() {}
    public static let `default` = ReadLimits()
}

/// Random access to the checkpoint bytes: a file read with `pread`, or bytes in memory (tests).
final class ByteSource: @unchecked Sendable {
    let size: UInt64
    private let fd: Int32
    private let memory: [UInt8]?
    let path: String

    init(path: String) throws(CheckpointReadError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointReadError(.io, "cannot open \(path): \(String(cString: strerror(errno)))") }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let msg = String(cString: strerror(errno))
            close(fd)
            throw CheckpointReadError(.io, "cannot stat \(path): \(msg)")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw CheckpointReadError(.io, "\(path) is not a regular file")
        }
        self.fd = fd
        self.size = UInt64(st.st_size)
        self.memory = nil
        self.path = path
    }

    init(bytes: [UInt8], name: String = "<memory>") {
        self.fd = -1
        self.memory = bytes
        self.size = UInt64(bytes.count)
        self.path = name
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Reads exactly `range` (which must lie inside the file), into `buffer`.
    func read(_ range: Range<UInt64>, into buffer: UnsafeMutableRawBufferPointer) throws(CheckpointReadError) {
        precondition(UInt64(buffer.count) == UInt64(range.count))
        guard range.upperBound <= size else {
            throw CheckpointReadError(.truncated, "\(path): needs bytes \(range.lowerBound)..<\(range.upperBound) but the file has \(size)")
        }
        if range.isEmpty { return }
        if let memory {
            memory.withUnsafeBytes { src in
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[Int(range.lowerBound) ..< Int(range.upperBound)]))
            }
            return
        }
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, min(buffer.count - done, 1 << 30), off_t(range.lowerBound) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw CheckpointReadError(.io, "\(path): read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { throw CheckpointReadError(.truncated, "\(path): file shrank while reading (at \(range.lowerBound + UInt64(done)))") }
            done += n
        }
    }

    func bytes(_ range: Range<UInt64>) throws(CheckpointReadError) -> [UInt8] {
        guard range.upperBound <= size else {
            throw CheckpointReadError(.truncated, "\(path): needs bytes \(range.lowerBound)..<\(range.upperBound) but the file has \(size)")
        }
        var out = [UInt8](repeating: 0, count: Int(range.count))
        var failure: CheckpointReadError?
        out.withUnsafeMutableBytes { buf in
            do throws(CheckpointReadError) { try read(range, into: buf) } catch { failure = error }
        }
        if let failure { throw failure }
        return out
    }
}

/// Little-endian field access on a byte array with bounds checks.
struct LEReader {
    let bytes: [UInt8]
    var pos: Int
    init(_ bytes: [UInt8], at pos: Int = 0) { self.bytes = bytes; self.pos = pos }
    var remaining: Int { bytes.count - pos }

    mutating func u8() -> UInt8? { guard pos + 1 <= bytes.count else { return nil }; defer { pos += 1 }; return bytes[pos] }
    mutating func u16() -> UInt16? { guard let v = uint(2) else { return nil }; return UInt16(v) }
    mutating func u32() -> UInt32? { guard let v = uint(4) else { return nil }; return UInt32(v) }
    mutating func u64() -> UInt64? { uint(8) }
    mutating func uint(_ n: Int) -> UInt64? {
        guard n >= 0, pos + n <= bytes.count else { return nil }
        var v: UInt64 = 0
        for k in 0 ..< n { v |= UInt64(bytes[pos + k]) << (8 * UInt64(k)) }
        pos += n
        return v
    }
    mutating func take(_ n: Int) -> ArraySlice<UInt8>? {
        guard n >= 0, n <= bytes.count - pos else { return nil }
        defer { pos += n }
        return bytes[pos ..< pos + n]
    }
}
