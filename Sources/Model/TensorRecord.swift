import Tensors

/// One tensor of the model: a parameter or a buffer, with its place in the state dict.
public struct TensorRecord: Sendable {
    public enum Kind: String, Sendable { case parameter, buffer }

    /// Dotted state_dict name ("backbone.conv.weight").
    public var name: String
    public var kind: Kind
    public var shape: [Int]
    public var dtype: DType
    /// Non-persistent buffers exist but are not in the state dict.
    public var persistent: Bool

    public init(name: String, kind: Kind, shape: [Int], dtype: DType, persistent: Bool) {
        self.name = name
        self.kind = kind
        self.shape = shape
        self.dtype = dtype
        self.persistent = persistent
    }

    public var count: Int { numel(shape) }
    public var byteCount: Int { count * dtype.byteSize }
}

/// One entry of the output state dict: a name (with its shape and kind) and the timeline tensor holding its values.
/// Tied entries (one storage under several names) share `tensor`.
public struct StateDictEntry: Sendable {
    public var tensor: Int
    public var record: TensorRecord

    public init(tensor: Int, record: TensorRecord) {
        self.tensor = tensor
        self.record = record
    }
}
