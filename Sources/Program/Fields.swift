import JSON
import Model

/// Typed access to one JSON object of a program, with errors that point at the offending field.
struct Fields {
    let object: JSONObject
    let at: JSONPointer

    /// `allowed`: every key the object may have (anything else is an error).
    init(_ value: JSONValue, at: JSONPointer, what: String, allowed: [String]) throws(ModelError) {
        guard case .object(let o) = value else { throw .invalid(at, "\(what) must be an object, got \(value.typeName)") }
        for key in o.keys where !allowed.contains(key) {
            let hint = closestName(to: key, in: allowed).map { " (did you mean '\($0)'?)" } ?? ""
            throw .invalid(at / key, "unknown key '\(key)' in \(what)\(hint); expected \(allowed.joined(separator: ", "))")
        }
        object = o
        self.at = at
    }

    subscript(_ key: String) -> JSONValue? {
        if let v = object[key], v != .null { return v }
        return nil
    }

    func required(_ key: String) throws(ModelError) -> JSONValue {
        guard let v = self[key] else { throw .invalid(at, "missing '\(key)'") }
        return v
    }

    func int(_ key: String, in range: ClosedRange<Int64> = Int64.min...Int64.max) throws(ModelError) -> Int64? {
        guard let v = self[key] else { return nil }
        return try Fields.int(v, at: at / key, in: range)
    }

    func requiredInt(_ key: String, in range: ClosedRange<Int64> = Int64.min...Int64.max) throws(ModelError) -> Int64 {
        try Fields.int(try required(key), at: at / key, in: range)
    }

    static func int(_ v: JSONValue, at: JSONPointer, in range: ClosedRange<Int64>) throws(ModelError) -> Int64 {
        guard case .int(let i) = v else { throw .invalid(at, "must be an integer, got \(v.typeName)") }
        guard range.contains(i) else { throw .invalid(at, "\(i) is out of range [\(range.lowerBound), \(range.upperBound)]") }
        return i
    }

    func number(_ key: String) throws(ModelError) -> Double? {
        guard let v = self[key] else { return nil }
        if let d = v.numberValue { return d }
        // JSON has no NaN or infinity: the program spells them as strings.
        switch v.stringValue {
        case "nan"?: return .nan
        case "inf"?: return .infinity
        case "-inf"?: return -.infinity
        default: throw .invalid(at / key, "must be a number (or \"nan\", \"inf\", \"-inf\"), got \(v.typeName)")
        }
    }

    func requiredNumber(_ key: String) throws(ModelError) -> Double {
        guard let d = try number(key) else { throw .invalid(at, "missing '\(key)'") }
        return d
    }

    func string(_ key: String) throws(ModelError) -> String? {
        guard let v = self[key] else { return nil }
        guard case .string(let s) = v else { throw .invalid(at / key, "must be a string, got \(v.typeName)") }
        return s
    }

    func requiredString(_ key: String) throws(ModelError) -> String {
        guard let s = try string(key) else { throw .invalid(at, "missing '\(key)'") }
        return s
    }

    func array(_ key: String, max: Int) throws(ModelError) -> [JSONValue] {
        guard case .array(let a) = try required(key) else { throw .invalid(at / key, "must be an array, got \(self[key]!.typeName)") }
        if a.count > max { throw .invalid(at / key, "\(a.count) elements, over the limit of \(max)") }
        return a
    }
}
