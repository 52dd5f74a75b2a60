import JSON

/// Python's `repr(float)`: shortest round-trip digits, exponent form outside [1e-4, 1e16).
public func pythonFloat(_ x: Double) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x < 0 ? "-inf" : "inf" }
    if x == 0 { return x.sign == .minus ? "-0.0" : "0.0" }
    // Swift's description gives the same shortest digits; only the layout differs.
    let s = "\(x)"
    var mantissa = s
    var exponent = 0
    if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        mantissa = String(s[..<e])
        exponent = Int(s[s.index(after: e)...])!
    }
    let negative = mantissa.hasPrefix("-")
    if negative { mantissa.removeFirst() }
    // digits and decimal exponent: value = 0.d1d2... × 10^point
    var intPart = mantissa
    var fracPart = ""
    if let dot = mantissa.firstIndex(of: ".") {
        intPart = String(mantissa[..<dot])
        fracPart = String(mantissa[mantissa.index(after: dot)...])
    }
    var digits = intPart + fracPart
    var point = intPart.count + exponent
    while digits.hasPrefix("0") && digits.count > 1 { digits.removeFirst(); point -= 1 }
    while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
    let decimalExponent = point - 1
    var out: String
    if decimalExponent < -4 || decimalExponent >= 16 {
        let d = Array(digits)
        out = String(d[0]) + (d.count > 1 ? "." + String(d[1...]) : "")
        out += "e" + (decimalExponent < 0 ? "-" : "+") + (abs(decimalExponent) < 10 ? "0" : "") + String(abs(decimalExponent))
    } else if point <= 0 {
        out = "0." + String(repeating: "0", count: -point) + digits
    } else if point >= digits.count {
        out = digits + String(repeating: "0", count: point - digits.count) + ".0"
    } else {
        let d = Array(digits)
        out = String(d[..<point]) + "." + String(d[point...])
    }
    return (negative ? "-" : "") + out
}

/// Python's `str()` of a config value, as MMEngine's f-strings print it.
public func pythonStr(_ v: JSONValue) -> String {
    switch v {
    case .string(let s): return s
    default: return pythonRepr(v)
    }
}

/// Python's `repr()` of a config value (dicts and lists print their items with repr).
public func pythonRepr(_ v: JSONValue) -> String {
    switch v {
    case .null: return "None"
    case .bool(let b): return b ? "True" : "False"
    case .int(let i): return String(i)
    case .double(let d): return pythonFloat(d)
    case .string(let s):
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var body = ""
        for ch in s {
            switch ch {
            case "\\": body += "\\\\"
            case "\n": body += "\\n"
            case "\t": body += "\\t"
            case "\r": body += "\\r"
            case quote: body += "\\" + String(ch)
            default: body.append(ch)
            }
        }
        return String(quote) + body + String(quote)
    case .array(let items): return "[" + items.map(pythonRepr).joined(separator: ", ") + "]"
    case .object(let o): return "{" + o.entries.map { pythonRepr(.string($0.key)) + ": " + pythonRepr($0.value) }.joined(separator: ", ") + "}"
    }
}
