import Tensors

// A pickle VM that executes nothing: known globals map to data constructors, every other global is an inert
// "opaque" placeholder, and calling / instantiating / BUILD-ing a placeholder only records its arguments.

/// Element types torch can store, with their item sizes; `dtype` is the subset `Tensors.DType` covers.
struct TorchElementType: Sendable, Equatable, Hashable {
    var name: String
    var itemSize: Int
    var dtype: DType?

    static let byDTypeName: [String: TorchElementType] = {
        var t: [String: TorchElementType] = [:]
        func add(_ names: [String], _ size: Int, _ dtype: DType?) {
            for n in names { t[n] = TorchElementType(name: names[0], itemSize: size, dtype: dtype) }
        }
        add(["float32", "float"], 4, .float32)
        add(["float16", "half"], 2, .float16)
        add(["bfloat16"], 2, .bfloat16)
        add(["float64", "double"], 8, .float64)
        add(["int64", "long"], 8, .int64)
        add(["int32", "int"], 4, .int32)
        add(["bool"], 1, .bool)
        add(["int16", "short"], 2, nil)
        add(["int8"], 1, nil)
        add(["uint8"], 1, nil)
        add(["uint16"], 2, nil)
        add(["uint32"], 4, nil)
        add(["uint64"], 8, nil)
        add(["complex64", "cfloat"], 8, nil)
        add(["complex128", "cdouble"], 16, nil)
        add(["complex32", "chalf"], 4, nil)
        for f8 in ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu"] { add([f8], 1, nil) }
        return t
    }()

    static let byStorageClass: [String: TorchElementType] = [
        "FloatStorage": byDTypeName["float32"]!, "HalfStorage": byDTypeName["float16"]!,
        "BFloat16Storage": byDTypeName["bfloat16"]!, "DoubleStorage": byDTypeName["float64"]!,
        "LongStorage": byDTypeName["int64"]!, "IntStorage": byDTypeName["int32"]!,
        "ShortStorage": byDTypeName["int16"]!, "CharStorage": byDTypeName["int8"]!,
        "ByteStorage": byDTypeName["uint8"]!, "BoolStorage": byDTypeName["bool"]!,
        "ComplexFloatStorage": byDTypeName["complex64"]!, "ComplexDoubleStorage": byDTypeName["complex128"]!,
    ]
}

/// A storage named by a persistent id: `elementType == nil` is an untyped (byte) storage.
struct StorageRef: Sendable, Equatable {
    var key: String
    var elementType: TorchElementType?
    /// Elements (typed) or bytes (untyped).
    var count: Int
    var byteCount: Int { count * (elementType?.itemSize ?? 1) }
}

struct TensorRef: Sendable, Equatable {
    var storage: StorageRef
    var elementType: TorchElementType
    var offset: Int
    var shape: [Int]
    var strides: [Int]
}

enum HashKey: Hashable {
    case string(String), int(Int), bool(Bool), none, bytes([UInt8])
}

/// Lists, tuples, dicts, sets and opaque instances. Reference semantics like Python's; torn down iteratively.
final class PObject {
    enum Kind: Equatable {
        case list, tuple, dict, set
        /// An instance of / value returned by something we refuse to run.
        case opaque(module: String, name: String)
    }
    let kind: Kind
    var items: [PValue] = []
    var pairs: [(key: PValue, value: PValue)] = []
    var index: [HashKey: Int] = [:]
    var state: PValue? = nil
    var depth = 1

    init(_ kind: Kind) { self.kind = kind }

    var isDict: Bool { kind == .dict }
    var isSequence: Bool { kind == .list || kind == .tuple }

    func lookup(_ key: String) -> PValue? {
        guard let i = index[.string(key)] else { return nil }
        return pairs[i].value
    }
}

enum PValue {
    case none
    case bool(Bool)
    case int(Int)
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case object(PObject)
    case global(module: String, name: String)
    case storage(StorageRef)
    case tensor(TensorRef)
    /// A known constructor got arguments it cannot use (or depended on a placeholder): inert, with the reason.
    case invalid(String)

    var depth: Int { if case .object(let o) = self { return o.depth }; return 0 }

    var hashKey: HashKey? {
        switch self {
        case .string(let s): .string(s)
        case .int(let i): .int(i)
        case .bool(let b): .bool(b)
        case .none: HashKey.none
        case .bytes(let b): .bytes(b)
        default: nil
        }
    }

    /// A short description for messages and placeholder summaries (never recursive beyond one level).
    var summary: String {
        switch self {
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .bigInt: return "<big int>"
        case .float(let d): return String(d)
        case .string(let s): return s.count > 60 ? "str(\(s.utf8.count) bytes)" : "'\(s)'"
        case .bytes(let b): return "bytes(\(b.count))"
        case .global(let m, let n): return "<global \(m).\(n)>"
        case .storage(let s): return "<storage \(s.key)>"
        case .tensor(let t): return "tensor(\(t.elementType.name), \(t.shape))"
        case .invalid(let why): return "<invalid: \(why)>"
        case .object(let o):
            switch o.kind {
            case .list: return "list(\(o.items.count) items)"
            case .tuple: return "tuple(\(o.items.count) items)"
            case .set: return "set(\(o.items.count) items)"
            case .dict: return "dict(\(o.pairs.count) entries)"
            case .opaque(let m, let n): return "<opaque \(m).\(n)>"
            }
        }
    }
}

/// Reads pickle bytes from a range of a `ByteSource`, buffered; never allocates more than the remaining range.
struct PickleInput {
    let source: ByteSource
    private(set) var position: UInt64
    let end: UInt64
    private var buffer: [UInt8] = []
    private var bufferStart: UInt64 = 0
    private var bufferPos = 0
    let start: UInt64
    let maxBytes: UInt64

    init(source: ByteSource, range: Range<UInt64>, maxBytes: Int) {
        self.source = source
        self.start = range.lowerBound
        self.position = range.lowerBound
        self.end = range.upperBound
        self.maxBytes = UInt64(maxBytes)
        self.bufferStart = range.lowerBound
    }

    private func truncated() -> CheckpointReadError {
        CheckpointReadError(.truncated, "\(source.path): pickle ends unexpectedly at byte \(position) (truncated file?)")
    }

    private mutating func refill() throws(CheckpointReadError) {
        guard position < end else { throw truncated() }
        guard position - start < maxBytes else {
            throw CheckpointReadError(.limitExceeded, "\(source.path): pickle longer than the limit of \(maxBytes) bytes")
        }
        let n = min(end - position, 1 << 20, maxBytes - (position - start))
        buffer = try source.bytes(position ..< position + n)
        bufferStart = position
        bufferPos = 0
    }

    mutating func byte() throws(CheckpointReadError) -> UInt8 {
        if bufferPos >= buffer.count { try refill() }
        let b = buffer[bufferPos]
        bufferPos += 1
        position += 1
        return b
    }

    mutating func bytes(_ n: UInt64) throws(CheckpointReadError) -> [UInt8] {
        guard n <= end - position else { throw truncated() }
        guard position - start + n <= maxBytes else {
            throw CheckpointReadError(.limitExceeded, "\(source.path): pickle longer than the limit of \(maxBytes) bytes")
        }
        var out: [UInt8] = []
        out.reserveCapacity(Int(n))
        var left = Int(n)
        while left > 0 {
            if bufferPos >= buffer.count { try refill() }
            let k = min(left, buffer.count - bufferPos)
            out += buffer[bufferPos ..< bufferPos + k]
            bufferPos += k
            position += UInt64(k)
            left -= k
        }
        return out
    }

    mutating func uint(_ n: Int) throws(CheckpointReadError) -> UInt64 {
        var v: UInt64 = 0
        for k in 0 ..< n { v |= UInt64(try byte()) << (8 * UInt64(k)) }
        return v
    }

    mutating func line(max: Int = 1 << 16) throws(CheckpointReadError) -> [UInt8] {
        var out: [UInt8] = []
        while true {
            let b = try byte()
            if b == 0x0a { return out }
            out.append(b)
            if out.count > max { throw CheckpointReadError(.malformed, "\(source.path): pickle text line longer than \(max) bytes") }
        }
    }
}

/// The VM. One instance per pickle; `objects` keeps every container so teardown is iterative (no deep deinit
/// recursion on nesting bombs, no leaks from self-referencing containers).
final class PickleMachine {
    let limits: ReadLimits
    let path: String
    private var stack: [PValue] = []
    private var marks: [Int] = []
    private var memo: [UInt64: PValue] = [:]
    private var objects: [PObject] = []
    /// Persistent-id resolution (`('storage', cls, key, location, numel[, view])`), shared across the pickles of a file.
    var storages: [String: StorageRef] = [:]
    var storageOrder: [String] = []
    var storageConflicts: [String: String] = [:]

    init(limits: ReadLimits, path: String) { self.limits = limits; self.path = path }

    deinit { teardown() }

    func teardown() {
        stack.removeAll()
        memo.removeAll()
        for o in objects { o.items.removeAll(); o.pairs.removeAll(); o.index.removeAll(); o.state = nil }
        objects.removeAll()
    }

    private func malformed(_ msg: String) -> CheckpointReadError { CheckpointReadError(.malformed, "\(path): pickle: \(msg)") }

    private func new(_ kind: PObject.Kind) -> PObject {
        let o = PObject(kind)
        objects.append(o)
        return o
    }

    private func adopt(_ child: PValue, into parent: PObject) throws(CheckpointReadError) {
        let d = child.depth + 1
        if d > parent.depth {
            guard d <= limits.maxNestingDepth else {
                throw CheckpointReadError(.limitExceeded, "\(path): pickle: objects nested deeper than \(limits.maxNestingDepth) levels")
            }
            parent.depth = d
        }
    }

    private func append(_ v: PValue, to o: PObject) throws(CheckpointReadError) {
        switch o.kind {
        case .list, .set, .opaque: try adopt(v, into: o); o.items.append(v)
        case .tuple, .dict: throw malformed("APPEND to a \(o.kind)")
        }
    }

    private func setItem(_ k: PValue, _ v: PValue, in o: PObject) throws(CheckpointReadError) {
        switch o.kind {
        case .dict, .opaque:
            try adopt(k, into: o)
            try adopt(v, into: o)
            if let h = k.hashKey {
                if let i = o.index[h] { o.pairs[i].value = v; return }
                o.index[h] = o.pairs.count
            }
            o.pairs.append((k, v))
        default:
            throw malformed("SETITEM on a \(o.kind)")
        }
    }

    private func push(_ v: PValue) throws(CheckpointReadError) {
        guard stack.count + marks.count < limits.maxPickleStack else {
            throw CheckpointReadError(.limitExceeded, "\(path): pickle stack exceeds \(limits.maxPickleStack) items")
        }
        stack.append(v)
    }

    private func pop() throws(CheckpointReadError) -> PValue {
        guard stack.count > (marks.last ?? 0) else { throw malformed("stack underflow") }
        return stack.removeLast()
    }

    private func top() throws(CheckpointReadError) -> PValue {
        guard stack.count > (marks.last ?? 0) else { throw malformed("stack underflow") }
        return stack[stack.count - 1]
    }

    private func popMark() throws(CheckpointReadError) -> [PValue] {
        guard let m = marks.popLast() else { throw malformed("MARK expected") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private func tuple(_ items: [PValue]) throws(CheckpointReadError) -> PValue {
        let t = new(.tuple)
        for v in items { try adopt(v, into: t) }
        t.items = items
        return .object(t)
    }

    private func string(_ bytes: [UInt8]) -> PValue { .string(String(decoding: bytes, as: UTF8.self)) }

    /// Runs one pickle from `input` up to its STOP and returns the result.
    func load(_ input: inout PickleInput) throws(CheckpointReadError) -> PValue {
        stack.removeAll()
        marks.removeAll()
        memo.removeAll()
        var ops = 0
        while true {
            ops += 1
            guard ops <= limits.maxPickleOps else {
                throw CheckpointReadError(.limitExceeded, "\(path): pickle runs more than \(limits.maxPickleOps) operations")
            }
            let op = try input.byte()
            switch op {
            case 0x80: // PROTO
                let v = try input.byte()
                guard v <= 5 else { throw CheckpointReadError(.unsupported, "\(path): pickle protocol \(v) is not supported") }
            case 0x95: // FRAME
                let n = try input.uint(8)
                guard n <= input.end - input.position else { throw CheckpointReadError(.truncated, "\(path): pickle frame runs past the end (truncated file?)") }
            case UInt8(ascii: "."): // STOP
                let v = try pop()
                return v
            case UInt8(ascii: "("): // MARK
                guard stack.count + marks.count < limits.maxPickleStack else {
                    throw CheckpointReadError(.limitExceeded, "\(path): pickle stack exceeds \(limits.maxPickleStack) items")
                }
                marks.append(stack.count)
            case UInt8(ascii: "0"): // POP
                if stack.count > (marks.last ?? 0) { stack.removeLast() } else { _ = try popMark() }
            case UInt8(ascii: "1"): _ = try popMark() // POP_MARK
            case UInt8(ascii: "2"): try push(try top()) // DUP

            case UInt8(ascii: "N"): try push(.none)
            case 0x88: try push(.bool(true))
            case 0x89: try push(.bool(false))
            case UInt8(ascii: "J"): try push(.int(Int(Int32(bitPattern: UInt32(try input.uint(4))))))
            case UInt8(ascii: "K"): try push(.int(Int(try input.byte())))
            case UInt8(ascii: "M"): try push(.int(Int(try input.uint(2))))
            case 0x8a, 0x8b: // LONG1, LONG4
                let n = op == 0x8a ? UInt64(try input.byte()) : try input.uint(4)
                let b = try input.bytes(n)
                try push(Self.long(b))
            case UInt8(ascii: "I"), UInt8(ascii: "L"): // INT / LONG (text)
                var text = String(decoding: try input.line(max: 4096), as: UTF8.self)
                if op == UInt8(ascii: "L"), text.hasSuffix("L") { text.removeLast() }
                if op == UInt8(ascii: "I") && text == "01" { try push(.bool(true)) }
                else if op == UInt8(ascii: "I") && text == "00" { try push(.bool(false)) }
                else if let i = Int(text) { try push(.int(i)) }
                else { try push(.bigInt([])) }
            case UInt8(ascii: "G"): try push(.float(Double(bitPattern: (try input.bytes(8)).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))
            case UInt8(ascii: "F"):
                let text = String(decoding: try input.line(max: 4096), as: UTF8.self)
                guard let d = Double(text) else { throw malformed("bad FLOAT \(text)") }
                try push(.float(d))

            case UInt8(ascii: "X"): try push(string(try input.bytes(try input.uint(4))))
            case 0x8c: try push(string(try input.bytes(UInt64(try input.byte()))))
            case 0x8d: try push(string(try input.bytes(try input.uint(8))))
            case UInt8(ascii: "U"): try push(string(try input.bytes(UInt64(try input.byte()))))
            case UInt8(ascii: "T"):
                let n = Int32(bitPattern: UInt32(try input.uint(4)))
                guard n >= 0 else { throw malformed("negative BINSTRING length") }
                try push(string(try input.bytes(UInt64(n))))
            case UInt8(ascii: "B"): try push(.bytes(try input.bytes(try input.uint(4))))
            case UInt8(ascii: "C"): try push(.bytes(try input.bytes(UInt64(try input.byte()))))
            case 0x8e, 0x96: try push(.bytes(try input.bytes(try input.uint(8))))

            case UInt8(ascii: ")"): try push(try tuple([]))
            case UInt8(ascii: "t"): try push(try tuple(try popMark()))
            case 0x85: let a = try pop(); try push(try tuple([a]))
            case 0x86: let b = try pop(), a = try pop(); try push(try tuple([a, b]))
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); try push(try tuple([a, b, c]))

            case UInt8(ascii: "]"): try push(.object(new(.list)))
            case UInt8(ascii: "l"):
                let items = try popMark()
                let l = new(.list)
                for v in items { try append(v, to: l) }
                try push(.object(l))
            case UInt8(ascii: "a"):
                let v = try pop()
                guard case .object(let l) = try top() else { throw malformed("APPEND to a non-list") }
                try append(v, to: l)
            case UInt8(ascii: "e"):
                let items = try popMark()
                guard case .object(let l) = try top() else { throw malformed("APPENDS to a non-list") }
                for v in items { try append(v, to: l) }

            case UInt8(ascii: "}"): try push(.object(new(.dict)))
            case UInt8(ascii: "d"):
                let items = try popMark()
                guard items.count % 2 == 0 else { throw malformed("odd number of items for DICT") }
                let d = new(.dict)
                for i in stride(from: 0, to: items.count, by: 2) { try setItem(items[i], items[i + 1], in: d) }
                try push(.object(d))
            case UInt8(ascii: "s"):
                let v = try pop(), k = try pop()
                guard case .object(let d) = try top() else { throw malformed("SETITEM on a non-dict") }
                try setItem(k, v, in: d)
            case UInt8(ascii: "u"):
                let items = try popMark()
                guard items.count % 2 == 0 else { throw malformed("odd number of items for SETITEMS") }
                guard case .object(let d) = try top() else { throw malformed("SETITEMS on a non-dict") }
                for i in stride(from: 0, to: items.count, by: 2) { try setItem(items[i], items[i + 1], in: d) }

            case 0x8f: try push(.object(new(.set)))
            case 0x90:
                let items = try popMark()
                guard case .object(let s) = try top(), s.kind == .set || { if case .opaque = s.kind { return true }; return false }() else { throw malformed("ADDITEMS to a non-set") }
                for v in items { try append(v, to: s) }
            case 0x91:
                let items = try popMark()
                let s = new(.set)
                for v in items { try append(v, to: s) }
                try push(.object(s))

            case UInt8(ascii: "c"): // GLOBAL
                let module = String(decoding: try input.line(max: 1024), as: UTF8.self)
                let name = String(decoding: try input.line(max: 1024), as: UTF8.self)
                try push(.global(module: module, name: name))
            case 0x93: // STACK_GLOBAL
                let n = try pop(), m = try pop()
                guard case .string(let module) = m, case .string(let name) = n else { throw malformed("STACK_GLOBAL needs two strings") }
                try push(.global(module: module, name: name))

            case UInt8(ascii: "R"): // REDUCE
                let args = try pop(), callee = try pop()
                try push(try call(callee, args))
            case 0x81: // NEWOBJ
                let args = try pop(), cls = try pop()
                try push(try instantiate(cls, args))
            case 0x92: // NEWOBJ_EX
                _ = try pop()
                let args = try pop(), cls = try pop()
                try push(try instantiate(cls, args))
            case UInt8(ascii: "b"): // BUILD
                let state = try pop()
                let inst = try top()
                if case .object(let o) = inst {
                    switch o.kind {
                    case .opaque, .dict:
                        // dict: instance attributes (e.g. a state_dict's `_metadata`); kept, never interpreted.
                        try adopt(state, into: o)
                        o.state = state
                    default: break
                    }
                }
            case UInt8(ascii: "Q"): // BINPERSID
                let pid = try pop()
                try push(persistentLoad(pid))
            case UInt8(ascii: "P"): // PERSID (text)
                _ = try input.line(max: 4096)
                try push(.invalid("text persistent id"))

            case UInt8(ascii: "q"): try memoize(UInt64(try input.byte()))
            case UInt8(ascii: "r"): try memoize(try input.uint(4))
            case 0x94: try memoize(UInt64(memo.count))
            case UInt8(ascii: "p"):
                guard let i = UInt64(String(decoding: try input.line(max: 64), as: UTF8.self)) else { throw malformed("bad PUT index") }
                try memoize(i)
            case UInt8(ascii: "h"): try push(try memoGet(UInt64(try input.byte())))
            case UInt8(ascii: "j"): try push(try memoGet(try input.uint(4)))
            case UInt8(ascii: "g"):
                guard let i = UInt64(String(decoding: try input.line(max: 64), as: UTF8.self)) else { throw malformed("bad GET index") }
                try push(try memoGet(i))

            default:
                throw CheckpointReadError(.unsupported, "\(path): pickle opcode 0x\(String(op, radix: 16)) at byte \(input.position - 1 - input.start) is not supported")
            }
        }
    }

    private func memoize(_ i: UInt64) throws(CheckpointReadError) {
        let v = try top()
        if memo[i] == nil {
            guard memo.count < limits.maxPickleMemo else {
                throw CheckpointReadError(.limitExceeded, "\(path): pickle memo exceeds \(limits.maxPickleMemo) entries")
            }
        }
        memo[i] = v
    }

    private func memoGet(_ i: UInt64) throws(CheckpointReadError) -> PValue {
        guard let v = memo[i] else { throw malformed("memo entry \(i) missing") }
        return v
    }

    static func long(_ b: [UInt8]) -> PValue {
        if b.isEmpty { return .int(0) }
        if b.count > 8 { return .bigInt(b) }
        var v: UInt64 = 0
        for (k, x) in b.enumerated() { v |= UInt64(x) << (8 * UInt64(k)) }
        if b.last! & 0x80 != 0 && b.count < 8 { v |= ~0 << (8 * UInt64(b.count)) }
        return .int(Int(Int64(bitPattern: v)))
    }

    // MARK: - Known globals

    private func opaque(_ module: String, _ name: String, args: PValue?) throws(CheckpointReadError) -> PValue {
        let o = new(.opaque(module: module, name: name))
        if let args { try adopt(args, into: o); o.items = [args] }
        return .object(o)
    }

    private func tupleItems(_ v: PValue) -> [PValue]? {
        if case .object(let o) = v, o.kind == .tuple { return o.items }
        return nil
    }

    /// `callee(*args)` for the known globals; anything else yields an inert placeholder.
    private func call(_ callee: PValue, _ args: PValue) throws(CheckpointReadError) -> PValue {
        guard case .global(let module, let name) = callee else {
            if case .object(let o) = callee, case .opaque(let m, let n) = o.kind { return try opaque(m, n + "(...)", args: args) }
            if case .invalid = callee { return callee }
            return .invalid("called a non-callable \(callee.summary)")
        }
        guard let a = tupleItems(args) else { return .invalid("\(module).\(name) called with non-tuple arguments") }
        switch (module, name) {
        case ("collections", "OrderedDict"), ("builtins", "dict"), ("__builtin__", "dict"), ("collections", "Counter"):
            let d = new(.dict)
            if a.isEmpty { return .object(d) }
            guard a.count == 1, case .object(let src) = a[0] else { return .invalid("\(name) with unsupported arguments") }
            if src.kind == .dict {
                for (k, v) in src.pairs { try setItem(k, v, in: d) }
            } else if src.isSequence {
                for item in src.items {
                    guard let kv = tupleItems(item) ?? { if case .object(let l) = item, l.kind == .list { return l.items }; return nil }(), kv.count == 2 else {
                        return .invalid("\(name) from a sequence of non-pairs")
                    }
                    try setItem(kv[0], kv[1], in: d)
                }
            } else { return .invalid("\(name) with unsupported arguments") }
            return .object(d)
        case ("builtins", "set"), ("__builtin__", "set"), ("builtins", "frozenset"), ("__builtin__", "frozenset"):
            let s = new(.set)
            if a.count == 1, case .object(let src) = a[0], src.isSequence || src.kind == .set {
                for v in src.items { try append(v, to: s) }
            } else if !a.isEmpty { return .invalid("set with unsupported arguments") }
            return .object(s)
        case ("torch", "Size"):
            if a.count == 1, tupleItems(a[0]) != nil { return a[0] }
            return .invalid("torch.Size with unsupported arguments")
        case ("_codecs", "encode"):
            guard a.count == 2, case .string(let s) = a[0], case .string(let enc) = a[1] else { return .invalid("_codecs.encode with unsupported arguments") }
            switch enc.lowercased() {
            case "latin1", "latin-1", "iso-8859-1":
                var out: [UInt8] = []
                for u in s.unicodeScalars {
                    guard u.value < 256 else { return .invalid("_codecs.encode: not latin-1") }
                    out.append(UInt8(u.value))
                }
                return .bytes(out)
            case "utf-8", "utf8": return .bytes(Array(s.utf8))
            default: return .invalid("_codecs.encode with encoding \(enc)")
            }
        case ("torch._utils", "_rebuild_tensor"):
            guard a.count == 4 else { return .invalid("_rebuild_tensor expects 4 arguments, got \(a.count)") }
            return rebuildTensor(a[0], a[1], a[2], a[3], dtype: nil)
        case ("torch._utils", "_rebuild_tensor_v2"):
            guard a.count == 6 || a.count == 7 else { return .invalid("_rebuild_tensor_v2 expects 6 or 7 arguments, got \(a.count)") }
            return rebuildTensor(a[0], a[1], a[2], a[3], dtype: nil)
        case ("torch._utils", "_rebuild_tensor_v3"):
            guard a.count == 7 || a.count == 8 else { return .invalid("_rebuild_tensor_v3 expects 7 or 8 arguments, got \(a.count)") }
            return rebuildTensor(a[0], a[1], a[2], a[3], dtype: a[6])
        case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"):
            guard a.count >= 3 else { return .invalid("\(name) expects at least 3 arguments") }
            switch a[0] {
            case .tensor, .invalid: return a[0]
            default: return .invalid("\(name) of a non-tensor \(a[0].summary)")
            }
        case ("torch._tensor", "_rebuild_from_type_v2"):
            guard a.count == 4 else { return .invalid("_rebuild_from_type_v2 expects 4 arguments") }
            guard case .global(let fm, let fn) = a[0], fm == "torch._utils", fn.hasPrefix("_rebuild_") else {
                return .invalid("_rebuild_from_type_v2 with function \(a[0].summary)")
            }
            return try call(a[0], a[2])
        default:
            return try opaque(module, name, args: args)
        }
    }

    private func instantiate(_ cls: PValue, _ args: PValue) throws(CheckpointReadError) -> PValue {
        guard case .global(let module, let name) = cls else {
            if case .object(let o) = cls, case .opaque(let m, let n) = o.kind { return try opaque(m, n + "(...)", args: args) }
            return .invalid("NEWOBJ on \(cls.summary)")
        }
        switch (module, name) {
        case ("collections", "OrderedDict"), ("builtins", "dict"), ("collections", "Counter"): return .object(new(.dict))
        case ("builtins", "set"): return .object(new(.set))
        default: return try opaque(module, name, args: args)
        }
    }

    private func int(_ v: PValue) -> Int? { if case .int(let i) = v { return i }; return nil }

    private func ints(_ v: PValue) -> [Int]? {
        guard let items = tupleItems(v) ?? { if case .object(let l) = v, l.kind == .list { return l.items }; return nil }() else { return nil }
        var out: [Int] = []
        for x in items { guard let i = int(x) else { return nil }; out.append(i) }
        return out
    }

    private func rebuildTensor(_ storage: PValue, _ offset: PValue, _ size: PValue, _ stride: PValue, dtype: PValue?) -> PValue {
        guard case .storage(let s) = storage else {
            if case .invalid(let why) = storage { return .invalid("tensor storage is invalid: \(why)") }
            return .invalid("tensor built from \(storage.summary) instead of a storage (refused)")
        }
        if let why = storageConflicts[s.key] { return .invalid(why) }
        guard let off = int(offset), off >= 0 else { return .invalid("bad storage offset \(offset.summary)") }
        guard let shape = ints(size), shape.allSatisfy({ $0 >= 0 }) else { return .invalid("bad size \(size.summary)") }
        guard let strides = ints(stride), strides.count == shape.count, strides.allSatisfy({ $0 >= 0 }) else { return .invalid("bad stride \(stride.summary)") }
        guard shape.count <= limits.maxRank else { return .invalid("tensor rank \(shape.count) exceeds \(limits.maxRank)") }
        var element: TorchElementType
        if let dtype {
            guard case .global(let m, let n) = dtype, m == "torch", let t = TorchElementType.byDTypeName[n] else {
                return .invalid("unknown tensor dtype \(dtype.summary)")
            }
            element = t
            if let se = s.elementType, se != t { return .invalid("dtype \(t.name) over a \(se.name) storage") }
        } else {
            guard let se = s.elementType else { return .invalid("untyped storage without a dtype") }
            element = se
        }
        // Bounds: the last element touched must lie inside the storage.
        let capacity = s.byteCount / element.itemSize
        var n = 1
        for d in shape { let (p, o) = n.multipliedReportingOverflow(by: d); if o { return .invalid("shape \(shape) overflows") }; n = p }
        if n > 0 {
            var last = off
            for (d, st) in zip(shape, strides) {
                let (p, o1) = (d - 1).multipliedReportingOverflow(by: st)
                let (q, o2) = last.addingReportingOverflow(p)
                if o1 || o2 { return .invalid("shape \(shape) / stride \(strides) overflow") }
                last = q
            }
            guard last < capacity else {
                return .invalid("tensor (offset \(off), shape \(shape), stride \(strides)) reaches past its storage of \(capacity) elements")
            }
            if n > capacity, n.multipliedReportingOverflow(by: element.itemSize).partialValue > limits.maxExpandedViewBytes || n.multipliedReportingOverflow(by: element.itemSize).overflow {
                return .invalid("view of \(n) elements over a storage of \(capacity) (expanded beyond the limit of \(limits.maxExpandedViewBytes) bytes)")
            }
        } else if off > capacity {
            return .invalid("storage offset \(off) past its storage of \(capacity) elements")
        }
        return .tensor(TensorRef(storage: s, elementType: element, offset: off, shape: shape, strides: strides))
    }

    /// `('storage', storage_class, key, location, numel)` (zip) or the same plus `view_metadata` (legacy).
    private func persistentLoad(_ pid: PValue) -> PValue {
        guard let t = tupleItems(pid), t.count >= 5, case .string(let typename) = t[0], typename == "storage" else {
            return .invalid("persistent id \(pid.summary) is not a storage")
        }
        guard t.count == 5 || (t.count == 6 && { if case .none = t[5] { return true }; return false }()) else {
            return .invalid("storage views (pre-1.0 legacy files) are not supported")
        }
        guard case .global(let module, let cls) = t[1] else { return .invalid("storage class \(t[1].summary) is not a torch storage class") }
        var element: TorchElementType?
        if (module == "torch.storage" || module == "torch") && cls == "UntypedStorage" {
            element = nil
        } else if module == "torch" || module == "torch.cuda", let e = TorchElementType.byStorageClass[cls] {
            element = e
        } else {
            return .invalid("storage class \(module).\(cls) is not a torch storage class")
        }
        let key: String
        switch t[2] {
        case .string(let s): key = s
        case .int(let i): key = String(i)
        default: return .invalid("storage key \(t[2].summary)")
        }
        guard let count = int(t[4]), count >= 0, count.multipliedReportingOverflow(by: element?.itemSize ?? 1).overflow == false else {
            return .invalid("storage size \(t[4].summary)")
        }
        let ref = StorageRef(key: key, elementType: element, count: count)
        if let old = storages[key] {
            if old != ref {
                storageConflicts[key] = "storage \(key) is declared twice with different types/sizes"
                return .invalid(storageConflicts[key]!)
            }
        } else {
            storages[key] = ref
            storageOrder.append(key)
        }
        return .storage(ref)
    }
}
