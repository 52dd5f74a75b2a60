import JSON
import Model
import Tensors

/// One tensor of a loaded checkpoint's state dict.
public struct PretrainedTensor: Sendable {
    public var key: String
    public var shape: [Int]
    public var dtype: DType
    public var source: any TensorSource

    public init(key: String, shape: [Int], dtype: DType, source: any TensorSource) {
        self.key = key
        self.shape = shape
        self.dtype = dtype
        self.source = source
    }
}

/// Where Pretrained checkpoints come from (the checkpoint folder, allowed URLs); supplied by the engine.
public protocol PretrainedLoader: Sendable {
    /// Reads a checkpoint's state dict (MMEngine's `_load_checkpoint` + `state_dict` unwrapping), keys as stored.
    /// Throws a message MMEngine-like ("FileNotFoundError: ...", "RuntimeError: No state_dict found ...").
    func load(_ checkpoint: String) throws(PretrainedLoadError) -> [PretrainedTensor]
}

public struct PretrainedLoadError: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// What one Pretrained application did, for the report.
public struct PretrainedResult: Sendable {
    public var checkpoint: String
    public var prefix: String?
    /// The module it was applied to ("" for the root).
    public var module: String
    public var pointer: JSONPointer
    public var loaded: [String] = []
    public var missing: [String] = []
    public var unexpected: [String] = []
    /// MMEngine's size-mismatch messages.
    public var mismatched: [String] = []
}

/// `PretrainedInit(checkpoint, prefix=None, map_location='cpu')`.
struct PretrainedInit {
    let checkpoint: String
    let prefix: String?
    let pointer: JSONPointer

    init(_ cfg: JSONObject, at pointer: JSONPointer) throws(ModelError) {
        for key in cfg.keys where !["type", "checkpoint", "prefix", "map_location"].contains(key) {
            throw buildError("PretrainedInit", "TypeError", "PretrainedInit.__init__() got an unexpected keyword argument '\(key)'", at: pointer / key)
        }
        guard let c = cfg["checkpoint"] else {
            throw buildError("PretrainedInit", "TypeError", "PretrainedInit.__init__() missing 1 required positional argument: 'checkpoint'", at: pointer)
        }
        guard case .string(let path) = c else { throw .invalid(pointer / "checkpoint", "checkpoint must be a string path") }
        checkpoint = path
        switch cfg["prefix"] {
        case nil, .null?: prefix = nil
        case .string(let p)?: prefix = p
        default: throw .invalid(pointer / "prefix", "prefix must be a string")
        }
        self.pointer = pointer
    }

    var info: String { "PretrainedInit: load from \(checkpoint)" }
}
