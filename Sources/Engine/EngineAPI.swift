import JSON

// The engine's public face, used by the CLI and the service.
// parse (request JSON) → plan (every tensor known, nothing generated) → stream (values tensor by tensor).

/// Output container format.
public enum CheckpointFormat: String, Sendable, CaseIterable {
    case safetensors, pytorch

    public var fileExtension: String { self == .safetensors ? "safetensors" : "pth" }
}

/// Why a request cannot be served, and where in the request the problem is.
public struct SpecError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The request does not follow the spec format (wrong type, unknown key, missing field).
        case invalid
        /// PyTorch or MMEngine would raise for this spec; `message` says what they would say.
        case rejected
        /// A configured limit (job bytes, tensor count) is exceeded.
        case limit
    }
    public var kind: Kind
    public var pointer: JSONPointer
    public var message: String

    public init(_ kind: Kind, at pointer: JSONPointer, _ message: String) {
        self.kind = kind
        self.pointer = pointer
        self.message = message
    }

    public var description: String { "\(pointer.description.isEmpty ? "/" : pointer.description): \(message)" }
}

/// Limits and environment the engine runs with.
public struct EngineOptions: Sendable {
    /// Largest checkpoint a job may produce, in bytes.
    public var maxJobBytes: UInt64
    /// Root folder for Pretrained `checkpoint` paths (nil: Pretrained is refused).
    public var checkpointDirectory: String?
    /// URL prefixes Pretrained may download from (http/https; matched at a path boundary).
    public var allowedCheckpointURLPrefixes: [String]
    /// Largest checkpoint download, in bytes.
    public var maxCheckpointDownloadBytes: UInt64
    /// Time limit for one checkpoint download, in seconds.
    public var checkpointDownloadTimeout: Double

    public static let defaultMaxCheckpointDownloadBytes: UInt64 = 4 << 30
    public static let defaultCheckpointDownloadTimeout: Double = 300

    public init(maxJobBytes: UInt64 = 64 << 30, checkpointDirectory: String? = nil, allowedCheckpointURLPrefixes: [String] = [],
                maxCheckpointDownloadBytes: UInt64 = EngineOptions.defaultMaxCheckpointDownloadBytes,
                checkpointDownloadTimeout: Double = EngineOptions.defaultCheckpointDownloadTimeout) {
        self.maxJobBytes = maxJobBytes
        self.checkpointDirectory = checkpointDirectory
        self.allowedCheckpointURLPrefixes = allowedCheckpointURLPrefixes
        self.maxCheckpointDownloadBytes = maxCheckpointDownloadBytes
        self.checkpointDownloadTimeout = checkpointDownloadTimeout
    }
}
