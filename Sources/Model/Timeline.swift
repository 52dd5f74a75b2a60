import JSON
import Tensors
import TorchInit

/// One write to one tensor, in the order PyTorch and MMEngine perform them.
public enum TensorWrite: Sendable {
    /// A `torch.nn.init` call on the whole tensor.
    case fill(TensorFill)
    /// `weight[row].fill_(0)` (Embedding's padding_idx), after the row's draws were consumed.
    case zeroRow(Int)
    /// A copy from a checkpoint (MMEngine Pretrained); `source` reads the values.
    case copy(any TensorSource)

    // Traced programs (Sources/Program): writes to a window of a storage.
    /// A fill on a window: constants on any window, `uniform_`/`normal_` on a contiguous one
    /// (a fill of the whole storage is recorded as `.fill`).
    case windowFill(TensorFill, StorageWindow)
    /// Values computed by the client (`arange` buffers, `eye_`), in the window's logical order.
    case literal(LiteralValues, StorageWindow)
    /// `out.copy_(src)`: `src` is a window of `storage` as it was before timeline op `version`
    /// (broadcast to `out`'s shape, converted to this storage's dtype).
    case copyWindow(storage: Int, version: Int, src: StorageWindow, out: StorageWindow)
    /// In-place arithmetic with Python scalars.
    case scalar(ScalarOp, StorageWindow)
    /// torch 2.15 `nn.init.trunc_normal_` on a contiguous window: `normal_(mean, std)`, then full-size redraws
    /// until every value lies in [a, b] (the p > 0.3 branch; the draw count depends on the values).
    case truncNormal(mean: Double, std: Double, a: Double, b: Double, StorageWindow)
}

extension TensorWrite {
    /// The window written (nil: the whole storage).
    public var window: StorageWindow? {
        switch self {
        case .fill, .zeroRow, .copy: nil
        case .windowFill(_, let w), .literal(_, let w), .scalar(_, let w), .truncNormal(_, _, _, _, let w): w
        case .copyWindow(_, _, _, let w): w
        }
    }

    /// True when the write consumes random draws.
    public var isRandom: Bool {
        switch self {
        case .fill(let f), .windowFill(let f, _): f.isRandom
        case .truncNormal: true
        default: false
        }
    }
}

/// Literal values of a storage's dtype, little-endian, as the request sent them.
public struct LiteralValues: Sendable {
    public let bytes: [UInt8]
    public let dtype: DType

    public init(bytes: [UInt8], dtype: DType) {
        self.bytes = bytes
        self.dtype = dtype
    }

    public var count: Int { bytes.count / dtype.byteSize }

    /// Element `i`, exactly (integers are validated to lie within ±2^53).
    public func value(_ i: Int) -> Double {
        bytes.withUnsafeBytes { raw in
            let at = i * dtype.byteSize
            switch dtype {
            case .float32: return Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self))))
            case .float64: return Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self)))
            case .float16: return Double(FloatBits.float(fromFloat16: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self))))
            case .bfloat16: return Double(FloatBits.float(fromBFloat16: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self))))
            case .int64: return Double(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int64.self)))
            case .int32: return Double(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int32.self)))
            case .bool: return raw[at] != 0 ? 1 : 0
            }
        }
    }
}

/// Values for a tensor that come from outside the random stream (a Pretrained checkpoint).
public protocol TensorSource: Sendable {
    /// A description for the report ("pretrained.pth:backbone.conv.weight").
    var label: String { get }
    /// Writes the values, converted to float32 (as `param.copy_(value)` would), into `out`.
    func read(into out: UnsafeMutableBufferPointer<Float>) throws
    /// Same for float64 tensors.
    func read(into out: UnsafeMutableBufferPointer<Double>) throws
}

/// Where a write came from, for the report's `initialized_by`.
public struct Origin: Sendable {
    /// "kaiming_uniform_", "KaimingInit", "normal_init", "PretrainedInit", ...
    public var initializer: String
    public var arguments: JSONObject
    /// "construction", "init_cfg", "override", "init_weights", "pretrained".
    public var phase: String
    public var pointer: JSONPointer
    /// Traced programs: the Python call site (`file:line in function`) and the module path whose code ran the op.
    public var site: String?
    public var module: String?

    public init(initializer: String, arguments: JSONObject, phase: String, pointer: JSONPointer,
                site: String? = nil, module: String? = nil) {
        self.initializer = initializer
        self.arguments = arguments
        self.phase = phase
        self.pointer = pointer
        self.site = site
        self.module = module
    }
}

public struct TimelineOp: Sendable {
    public var tensor: Int
    public var write: TensorWrite
    /// Index into `Timeline.origins`.
    public var origin: Int
}

/// What a tensor holds, as far as MMEngine's "did the mean change" test can tell without values.
public enum Content: Sendable, Equatable {
    /// Every element equals this value (as stored in the tensor's dtype).
    case constant(Double)
    /// Values no other state shares (fresh random draws, a checkpoint).
    case unique(Int)
}

/// Every tensor of the model and every write to it, in execution order.
/// Recording is symbolic: no value exists yet, only what will be written and by whom.
public final class Timeline: @unchecked Sendable {
    public private(set) var tensors: [TensorRecord] = []
    public private(set) var ops: [TimelineOp] = []
    public private(set) var origins: [Origin] = []
    public private(set) var content: [Content] = []
    /// Per tensor, the indices of the ops that wrote it.
    public private(set) var writes: [[Int]] = []
    /// `torch.manual_seed(seed)` inside a traced program: the generator is re-seeded before timeline op `beforeOp`.
    public private(set) var reseeds: [(beforeOp: Int, seed: Int64)] = []
    private var uniqueCounter = 0

    public init() {}

    public func recordManualSeed(_ seed: Int64) {
        reseeds.append((beforeOp: ops.count, seed: seed))
    }

    package func addTensor(_ record: TensorRecord, initial: Content) -> Int {
        tensors.append(record)
        content.append(initial)
        writes.append([])
        return tensors.count - 1
    }

    public func addOrigin(_ origin: Origin) -> Int {
        origins.append(origin)
        return origins.count - 1
    }

    public func freshUnique() -> Content {
        uniqueCounter += 1
        return .unique(uniqueCounter)
    }

    /// Records a write and updates the tensor's symbolic content.
    public func record(_ write: TensorWrite, on tensor: Int, origin: Int) {
        writes[tensor].append(ops.count)
        ops.append(TimelineOp(tensor: tensor, write: write, origin: origin))
        content[tensor] = contentAfter(write, on: tensor)
    }

    private func contentAfter(_ write: TensorWrite, on tensor: Int) -> Content {
        let dtype = tensors[tensor].dtype
        switch write {
        case .fill(.constant(let v)):
            return .constant(stored(v, as: dtype))
        case .fill(.uniform(let a, let b)) where stored(a, as: dtype) == stored(b, as: dtype):
            return .constant(stored(a, as: dtype))  // uniform_(a, a) returns a everywhere
        case .fill(.normal(let mean, let std)) where std == 0:
            return .constant(stored(mean, as: dtype))
        case .fill(.mmengineTruncNormal(_, _, let a, let b)) where stored(a, as: dtype) == stored(b, as: dtype):
            return .constant(stored(a, as: dtype))  // clamp_(a, b) with a == b leaves a everywhere
        case .windowFill(.constant(let v), let w) where w.coversWhole(tensors[tensor].count):
            return .constant(stored(v, as: dtype))
        case .zeroRow where tensors[tensor].shape.first == 1:
            return .constant(0)  // the padding row was the only row: the tensor is all zeros
        default:
            return freshUnique()
        }
    }

    private func stored(_ v: Double, as dtype: DType) -> Double {
        switch dtype {
        case .float64: v
        case .int64, .int32: v.rounded(.towardZero)
        case .bool: v != 0 ? 1 : 0
        // fill_ converts the Python float to float first, then to the 16-bit type (as the generator does).
        case .float16: Double(FloatBits.float(fromFloat16: FloatBits.float16(Float(v))))
        case .bfloat16: Double(FloatBits.float(fromBFloat16: FloatBits.bfloat16(Float(v))))
        default: Double(Float(v))
        }
    }
}

/// MMEngine's `update_init_info` test: does `param.data.mean()` differ from the recorded mean?
public func meanChanged(from old: Content, to new: Content, count: Int) -> Bool {
    if count == 0 { return true }  // mean of an empty tensor is NaN, and NaN != NaN
    switch (old, new) {
    case (.constant(let a), .constant(let b)): return !(a == b)
    case (.unique(let a), .unique(let b)): return a != b
    default: return true
    }
}
