/// A small strict JSON parser for safetensors headers: objects keep their key order, numbers stay text.
enum MiniJSON: Equatable {
    case object([(String, MiniJSON)])
    case array([MiniJSON])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    static func == (a: MiniJSON, b: MiniJSON) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.array(let x), .array(let y)): return x == y
        case (.string(let x), .string(let y)), (.number(let x), .number(let y)): return x == y
        case (.bool(let x), .bool(let y)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }

    struct ParseError: Error { var message: String; var offset: Int }

    static func parse(_ bytes: ArraySlice<UInt8>, maxDepth: Int = 64) throws(ParseError) -> MiniJSON {
        var p = Parser(bytes: Array(bytes), maxDepth: maxDepth)
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.pos == p.bytes.count else { throw ParseError(message: "trailing characters", offset: p.pos) }
        return v
    }

    var int: Int? { if case .number(let s) = self { return Int(s) }; return nil }
    var uint64: UInt64? { if case .number(let s) = self { return UInt64(s) }; return nil }

    private struct Parser {
        let bytes: [UInt8]
        let maxDepth: Int
        var pos = 0

        mutating func skipSpace() {
            while pos < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[pos]) { pos += 1 }
        }

        func fail(_ m: String) -> ParseError { ParseError(message: m, offset: pos) }

        mutating func expect(_ c: UInt8) throws(ParseError) {
            skipSpace()
            guard pos < bytes.count, bytes[pos] == c else { throw fail("expected '\(Character(Unicode.Scalar(c)))'") }
            pos += 1
        }

        mutating func value(depth: Int) throws(ParseError) -> MiniJSON {
            guard depth <= maxDepth else { throw fail("nested too deeply") }
            skipSpace()
            guard pos < bytes.count else { throw fail("unexpected end") }
            switch bytes[pos] {
            case UInt8(ascii: "{"):
                pos += 1
                var members: [(String, MiniJSON)] = []
                skipSpace()
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(members) }
                while true {
                    skipSpace()
                    let k = try string()
                    try expect(UInt8(ascii: ":"))
                    members.append((k, try value(depth: depth + 1)))
                    skipSpace()
                    guard pos < bytes.count else { throw fail("unterminated object") }
                    if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                    if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(members) }
                    throw fail("expected ',' or '}'")
                }
            case UInt8(ascii: "["):
                pos += 1
                var items: [MiniJSON] = []
                skipSpace()
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
                while true {
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    guard pos < bytes.count else { throw fail("unterminated array") }
                    if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                    if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
                    throw fail("expected ',' or ']'")
                }
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            default:
                let start = pos
                if bytes[pos] == UInt8(ascii: "-") { pos += 1 }
                while pos < bytes.count, (0x30 ... 0x39).contains(bytes[pos]) || [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"), UInt8(ascii: "-")].contains(bytes[pos]) { pos += 1 }
                guard pos > start else { throw fail("unexpected character") }
                return .number(String(decoding: bytes[start ..< pos], as: UTF8.self))
            }
        }

        mutating func literal(_ s: String) throws(ParseError) {
            let u = Array(s.utf8)
            guard pos + u.count <= bytes.count, Array(bytes[pos ..< pos + u.count]) == u else { throw fail("bad literal") }
            pos += u.count
        }

        mutating func hex4() throws(ParseError) -> UInt32 {
            guard pos + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[pos ..< pos + 4], as: UTF8.self), radix: 16) else { throw fail("bad \\u escape") }
            pos += 4
            return v
        }

        mutating func string() throws(ParseError) -> String {
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw fail("expected a string") }
            pos += 1
            var out: [UInt8] = []
            while true {
                guard pos < bytes.count else { throw fail("unterminated string") }
                let b = bytes[pos]
                pos += 1
                switch b {
                case UInt8(ascii: "\""):
                    var it = out.makeIterator()
                    var decoded = ""
                    var utf8 = UTF8()
                    loop: while true {
                        switch utf8.decode(&it) {
                        case .scalarValue(let u): decoded.unicodeScalars.append(u)
                        case .emptyInput: break loop
                        case .error: throw fail("invalid UTF-8 in string")
                        }
                    }
                    return decoded
                case UInt8(ascii: "\\"):
                    guard pos < bytes.count else { throw fail("unterminated escape") }
                    let e = bytes[pos]
                    pos += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "b"): out.append(8)
                    case UInt8(ascii: "f"): out.append(12)
                    case UInt8(ascii: "n"): out.append(10)
                    case UInt8(ascii: "r"): out.append(13)
                    case UInt8(ascii: "t"): out.append(9)
                    case UInt8(ascii: "u"):
                        var v = try hex4()
                        if (0xD800 ..< 0xDC00).contains(v) {
                            guard pos + 2 <= bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else { throw fail("lone surrogate") }
                            pos += 2
                            let lo = try hex4()
                            guard (0xDC00 ..< 0xE000).contains(lo) else { throw fail("bad surrogate pair") }
                            v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                        } else if (0xDC00 ..< 0xE000).contains(v) { throw fail("lone surrogate") }
                        guard let u = Unicode.Scalar(v) else { throw fail("bad code point") }
                        out += Array(String(Character(u)).utf8)
                    default: throw fail("bad escape")
                    }
                case 0 ..< 0x20: throw fail("control character in string")
                default: out.append(b)
                }
            }
        }
    }
}
