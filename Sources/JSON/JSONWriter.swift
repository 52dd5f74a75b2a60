extension JSONCodec {
    /// Serialize to a String. Compact by default (`,` and `:` without spaces, like Python's
    /// `json.dumps(separators=(',', ':'))`); `pretty` gives a 2-space indent with `": "` after keys
    /// (like `json.dumps(indent=2)`). Doubles use the shortest round-trip form and always stay
    /// floats (`5.0`, `1e-05`); NaN and ±infinity become `null`. Object key order is kept.
    public static func serialize(_ value: JSONValue, pretty: Bool = false) -> String {
        String(decoding: serializeBytes(value, pretty: pretty), as: UTF8.self)
    }

    /// Same as `serialize`, as UTF-8 bytes.
    public static func serializeBytes(_ value: JSONValue, pretty: Bool = false) -> [UInt8] {
        var writer = JSONWriter(pretty: pretty)
        writer.write(value, indent: 0)
        return writer.out
    }

    /// The JSON text of one double: shortest round-trip, always readable back as a float; `null` if not finite.
    public static func formatDouble(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        let text = d.description  // "0.1", "5.0", "1e-05", "1e+16", "-0.0"
        if text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            return text
        }
        return text + ".0"
    }
}

struct JSONWriter {
    var out: [UInt8] = []
    let pretty: Bool

    init(pretty: Bool) {
        self.pretty = pretty
        out.reserveCapacity(256)
    }

    mutating func write(_ value: JSONValue, indent: Int) {
        switch value {
        case .null: append("null")
        case .bool(let b): append(b ? "true" : "false")
        case .int(let i): writeInt(i)
        case .double(let d): append(JSONCodec.formatDouble(d))
        case .string(let s): writeString(s)
        case .array(let items):
            if items.isEmpty { append("[]"); return }
            out.append(UInt8(ascii: "["))
            for (n, item) in items.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                write(item, indent: indent + 1)
            }
            newline(indent)
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            if object.isEmpty { append("{}"); return }
            out.append(UInt8(ascii: "{"))
            for (n, entry) in object.entries.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                writeString(entry.key)
                out.append(UInt8(ascii: ":"))
                if pretty { out.append(UInt8(ascii: " ")) }
                write(entry.value, indent: indent + 1)
            }
            newline(indent)
            out.append(UInt8(ascii: "}"))
        }
    }

    private mutating func newline(_ indent: Int) {
        guard pretty else { return }
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * indent))
    }

    private mutating func append(_ s: String) { out.append(contentsOf: s.utf8) }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// RFC 8259 escaping: `\"`, `\\`, the short control escapes, other controls as `\u00XX`; everything else
    /// (including non-ASCII) as raw UTF-8.
    private mutating func writeString(_ s: String) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            // One counting pass, then the escaped text written through a pointer into a buffer of that size: a report
            // embedded as a string (the safetensors header) has an escape every few bytes.
            let (special, controls) = Self.countSpecials(bytes)
            guard special > 0 else { out.append(contentsOf: bytes); return }
            // At most 1 extra byte per special, 5 for a control (`\u00XX`).
            let escaped = [UInt8](unsafeUninitializedCapacity: bytes.count &+ special &+ 4 &* controls) { o, count in
                var j = 0
                for b in bytes {
                    guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { o[j] = b; j += 1; continue }
                    o[j] = UInt8(ascii: "\\")
                    if let c = Self.shortEscape(b) {
                        o[j + 1] = c
                        j += 2
                    } else {
                        o[j + 1] = UInt8(ascii: "u"); o[j + 2] = UInt8(ascii: "0"); o[j + 3] = UInt8(ascii: "0")
                        o[j + 4] = Self.hex[Int(b >> 4)]; o[j + 5] = Self.hex[Int(b & 0xF)]
                        j += 6
                    }
                }
                count = j
            }
            out.append(contentsOf: escaped)
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Bytes that need an escape (`"`, `\\`, controls) and how many of them are controls. Selects, not branches,
    /// so the loop vectorizes.
    @inline(__always)
    private static func countSpecials(_ bytes: UnsafeBufferPointer<UInt8>) -> (special: Int, controls: Int) {
        var special: UInt32 = 0, controls: UInt32 = 0
        for b in bytes {
            let ctl: UInt32 = b < 0x20 ? 1 : 0
            special &+= ctl | (b == UInt8(ascii: "\"") ? 1 : 0) | (b == UInt8(ascii: "\\") ? 1 : 0)
            controls &+= ctl
        }
        return (Int(special), Int(controls))
    }

    /// The letter after the backslash for the two-character escapes, nil for `\u00XX`.
    @inline(__always)
    private static func shortEscape(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): byte
        case 0x0A: UInt8(ascii: "n")
        case 0x0D: UInt8(ascii: "r")
        case 0x09: UInt8(ascii: "t")
        case 0x08: UInt8(ascii: "b")
        case 0x0C: UInt8(ascii: "f")
        default: nil
        }
    }

    /// Decimal digits straight into `out` (no String per number: reports hold thousands of shapes and offsets).
    private mutating func writeInt(_ i: Int64) {
        if i < 0 { out.append(UInt8(ascii: "-")) }
        var m = i.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)   // 24 bytes: room for 20 digits
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[23 - n] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
                n += 1
            } while m > 0
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: d[(24 - n)...]))
        }
    }
}
