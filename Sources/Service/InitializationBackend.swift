import JSON

/// The engine as the service sees it. The executable supplies the real implementation;
/// tests supply fakes. Implementations must be thread-safe: requests call in concurrently.
public protocol InitializationBackend: Sendable {
    /// Parses and plans a request body (nothing generated). Throws BackendError for a bad spec.
    func prepare(_ body: JSONValue) throws(BackendError) -> PreparedCheckpoint
    /// Only validates and returns the init report (POST /plan).
    func plan(_ body: JSONValue) throws(BackendError) -> JSONValue
    /// POST /plan?header=safetensors: the report plus `"safetensors_header"`, the base64 of the exact header bytes
    /// (8-byte length + JSON) `/initialize` would send for this body (what the fan-out client writes).
    func plan(_ body: JSONValue, safetensorsHeader: Bool) throws(BackendError) -> JSONValue
    /// GET /initializers document.
    func registry() -> JSONValue
    var version: String { get }
}

/// A request the backend refuses: becomes an RFC 9457 problem with a JSON pointer.
public struct BackendError: Error, Sendable {
    /// HTTP status: 422 for a spec PyTorch/MMEngine would reject or a limit, 413 for size.
    public var status: Int
    public var title: String
    public var detail: String
    /// JSON pointer (RFC 6901) into the request body; "" is the whole document.
    public var pointer: String

    public init(status: Int = 422, title: String = "Invalid initialization request", detail: String, pointer: String = "") {
        self.status = status
        self.title = title
        self.detail = detail
        self.pointer = pointer
    }
}

/// A planned checkpoint: everything about the response is known, no value generated yet.
public protocol PreparedCheckpoint: Sendable {
    var contentLength: UInt64 { get }
    /// Content-Disposition: attachment; filename="..."
    var fileName: String { get }
    /// X-Init-Seed header value.
    var seed: String { get }
    /// Counted against --max-job-bytes (contentLength is fine).
    var jobBytes: UInt64 { get }
    func makeStream() -> CheckpointByteStream
    /// A stream for `produce` into buffers of `pieceBytes` (HTTP sends from them): sized so values are generated
    /// in place. Default: `makeStream()`.
    func makeStream(pieceBytes: Int) -> CheckpointByteStream
    /// The init report with each tensor's `byte_range` (async jobs hash and summarize each tensor
    /// from it). nil: the service asks `plan(_:)` for it.
    var report: JSONValue? { get }
}

extension PreparedCheckpoint {
    public var report: JSONValue? { nil }
    public func makeStream(pieceBytes: Int) -> CheckpointByteStream { makeStream() }
}

/// The checkpoint bytes, in order.
public protocol CheckpointByteStream: AnyObject {
    /// Fills up to buffer.count bytes, returns bytes written, 0 at end. Blocking, CPU-heavy:
    /// called on a job worker, never on an MHD thread, never concurrently.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Writes the next bytes somewhere inside `buffer` (64-byte aligned) and returns where; empty at the end.
    /// Same calling rules as `read`. Default: `read` from the start of the buffer.
    func produce(into buffer: UnsafeMutableRawBufferPointer) throws -> Range<Int>
}

extension CheckpointByteStream {
    public func produce(into buffer: UnsafeMutableRawBufferPointer) throws -> Range<Int> { 0..<(try read(into: buffer)) }
}

extension InitializationBackend {
    public func plan(_ body: JSONValue, safetensorsHeader: Bool) throws(BackendError) -> JSONValue { try plan(body) }
}
