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

    public var count: Int { numel(shape) }
    public var byteCount: Int { count * dtype.byteSize }
}
