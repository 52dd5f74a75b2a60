/// The element types a state dict holds.
public enum DType: String, Sendable, CaseIterable, Hashable {
    case float32, float16, bfloat16, float64, int64, int32, bool

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16: 2
        case .bool: 1
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float16, .bfloat16, .float64: true
        case .int64, .int32, .bool: false
        }
    }

    /// The dtype string of the safetensors header.
    public var safetensorsName: String {
        switch self {
        case .float32: "F32"
        case .float16: "F16"
        case .bfloat16: "BF16"
        case .float64: "F64"
        case .int64: "I64"
        case .int32: "I32"
        case .bool: "BOOL"
        }
    }

    /// The name PyTorch prints (`torch.float32`) without the module prefix.
    public var torchName: String { rawValue }
}
