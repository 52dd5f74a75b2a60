import JSON
import Model
import Tensors
import TorchInit

/// A traced program (docs/programs.md), parsed and validated: every index, window and argument checked.
public struct Program: Sendable {
    public struct Storage: Sendable {
        public var numel: Int
        public var dtype: DType
    }

    /// One entry of `m.state_dict()`: a contiguous view of a whole storage.
    public struct Entry: Sendable {
        public var name: String
        public var storage: Int
        public var shape: [Int]
        public var kind: TensorRecord.Kind
    }

    /// One module of `named_modules()`.
    public struct ModuleInfo: Sendable {
        public var path: String
        public var className: String
        public var bases: [String]
        public var initWeights: Bool
        /// name → state-dict entry index (nil: registered as None).
        public var parameters: [(name: String, entry: Int?)]
        public var buffers: [(name: String, entry: Int?)]
    }

    public var version: Int
    public var model: String
    public var storages: [Storage]
    public var stateDict: [Entry]
    public var modules: [ModuleInfo]
    public var sites: [String]
    public var ops: [ProgramOp]

    /// What replaying the program can cost beyond its checkpoint, for the service's limits: the bytes of every
    /// storage as the replay holds it (float32 for float32/16-bit storages, double for the others; temporaries too)
    /// and the elements all ops write (the draws of dead fills included). Saturating.
    public var storageBytes: UInt64 {
        storages.reduce(UInt64(0)) { sum, s in
            let (b, o1) = UInt64(s.numel).multipliedReportingOverflow(by: s.dtype.isFloatingPoint && s.dtype != .float64 ? 4 : 8)
            let (t, o2) = sum.addingReportingOverflow(b)
            return o1 || o2 ? .max : t
        }
    }

    public var workElements: UInt64 {
        ops.reduce(UInt64(0)) { sum, op in
            guard let w = op.kind.out else { return sum }
            let (t, o) = sum.addingReportingOverflow(UInt64(w.window.count))
            return o ? .max : t
        }
    }
}

/// A window onto one storage.
public struct WindowRef: Sendable {
    public var storage: Int
    public var window: StorageWindow
}

/// One traced operation, in execution order.
public struct ProgramOp: Sendable {
    public enum Kind: Sendable {
        case manualSeed(Int64)
        /// `uniform_`, `normal_`, `fill_` (a constant).
        case fill(TensorFill, WindowRef)
        case truncNormal(mean: Double, std: Double, a: Double, b: Double, WindowRef)
        case literal(LiteralValues, WindowRef)
        case copy(out: WindowRef, src: WindowRef)
        case scalar(ScalarOp, WindowRef)
        case initInfoReset(storages: [Int], info: String)
        case initInfoUpdate(storages: [Int], info: String)
    }

    /// "uniform_", "copy_", ... as the program named it.
    public var name: String
    public var kind: Kind
    /// The op's arguments as sent (without op/out/site/module), for the report.
    public var arguments: JSONObject
    public var site: Int?
    public var module: String?
}
