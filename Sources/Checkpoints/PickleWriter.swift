import Tensors

/// Emits the protocol-2 pickle torch.save writes for an `OrderedDict` state dict (no memo ops).
struct PickleWriter {
    private(set) var bytes: [UInt8] = []

    mutating func proto2() { bytes += [0x80, 2] }
    mutating func stop() { bytes.append(UInt8(ascii: ".")) }
    mutating func mark() { bytes.append(UInt8(ascii: "(")) }
    mutating func global(_ module: String, _ name: String) {
        bytes.append(UInt8(ascii: "c"))
        bytes.append(module + "\n" + name + "\n")
    }
    mutating func emptyTuple() { bytes.append(UInt8(ascii: ")")) }
    mutating func tupleFromMark() { bytes.append(UInt8(ascii: "t")) }
    mutating func reduce() { bytes.append(UInt8(ascii: "R")) }
    mutating func binPersId() { bytes.append(UInt8(ascii: "Q")) }
    mutating func setItems() { bytes.append(UInt8(ascii: "u")) }
    mutating func newFalse() { bytes.append(0x89) }

    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        bytes.append(UInt8(ascii: "X"))
        bytes.appendLE32(UInt32(utf8.count))
        bytes += utf8
    }

    mutating func int(_ v: Int) {
        if v >= 0 && v < 256 {
            bytes += [UInt8(ascii: "K"), UInt8(v)]
        } else if v >= 0 && v < 65536 {
            bytes.append(UInt8(ascii: "M")); bytes.appendLE16(UInt16(v))
        } else if v >= Int(Int32.min) && v <= Int(Int32.max) {
            bytes.append(UInt8(ascii: "J")); bytes.appendLE32(UInt32(bitPattern: Int32(v)))
        } else {
            // LONG1: minimal two's-complement little-endian.
            var le: [UInt8] = []
            var x = v
            repeat {
                le.append(UInt8(truncatingIfNeeded: x))
                x >>= 8
            } while !(x == 0 && le.last! & 0x80 == 0) && !(x == -1 && le.last! & 0x80 != 0)
            bytes += [0x8a, UInt8(le.count)]
            bytes += le
        }
    }

    mutating func intTuple(_ values: [Int]) {
        switch values.count {
        case 0: emptyTuple()
        case 1: values.forEach { int($0) }; bytes.append(0x85)
        case 2: values.forEach { int($0) }; bytes.append(0x86)
        case 3: values.forEach { int($0) }; bytes.append(0x87)
        default: mark(); values.forEach { int($0) }; tupleFromMark()
        }
    }

    mutating func emptyOrderedDict() {
        global("collections", "OrderedDict"); emptyTuple(); reduce()
    }
}

extension DType {
    /// The legacy typed-storage class torch.save names in the persistent id (`torch.FloatStorage`, ...).
    var torchStorageClass: String {
        switch self {
        case .float32: "FloatStorage"
        case .float16: "HalfStorage"
        case .bfloat16: "BFloat16Storage"
        case .float64: "DoubleStorage"
        case .int64: "LongStorage"
        case .int32: "IntStorage"
        case .bool: "BoolStorage"
        }
    }
}

/// `data.pkl` for a state dict whose entry `i` is stored as storage key `storageKeys[i]` (default `"i"`; tied entries
/// share a key), contiguous, offset 0.
func torchStateDictPickle(_ entries: [CheckpointEntry], storageKeys: [Int]? = nil) -> [UInt8] {
    var p = PickleWriter()
    p.proto2()
    p.emptyOrderedDict()
    var i = 0
    while i < entries.count {
        // CPython batches 1000 pairs per SETITEMS.
        let end = min(i + 1000, entries.count)
        p.mark()
        for k in i ..< end {
            let e = entries[k]
            p.string(e.name)
            p.global("torch._utils", "_rebuild_tensor_v2")
            p.mark()
            p.mark()
            p.string("storage")
            p.global("torch", e.dtype.torchStorageClass)
            p.string(String(storageKeys?[k] ?? k))
            p.string("cpu")
            p.int(numel(e.shape))
            p.tupleFromMark()
            p.binPersId()
            p.int(0)
            p.intTuple(e.shape)
            p.intTuple(contiguousStrides(e.shape))
            p.newFalse()
            p.emptyOrderedDict()
            p.tupleFromMark()
            p.reduce()
        }
        p.setItems()
        i = end
    }
    p.stop()
    return p.bytes
}
