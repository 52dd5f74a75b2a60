import CJansson

/// Where and why a document failed to parse. `line`/`column` are 1-based as jansson reports them
/// (`column` counts characters, so a multibyte UTF-8 character is one column; `line` 1 / `column` 0 for
/// an empty document); `position` is the byte offset jansson had consumed when it stopped.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var position: Int
    public var message: String

    public init(line: Int, column: Int, position: Int, message: String) {
        self.line = line
        self.column = column
        self.position = position
        self.message = message
    }

    public var description: String { "line \(line), column \(column): \(message)" }
}

/// Parsing (jansson 2.14) and serialization (pure Swift) of `JSONValue`.
public enum JSONCodec {
    /// jansson's own compile-time nesting limit (`JSON_PARSER_MAX_DEPTH`).
    static let janssonMaxDepth = 2048

    /// `json_object_seed(0)` must run once before concurrent use; a static `let` is initialized exactly once, thread-safely.
    private static let seeded: Bool = {
        json_object_seed(0)
        return true
    }()

    /// Parse a complete document (any root type). Duplicate keys, `\u0000`, invalid UTF-8, integers outside Int64,
    /// trailing garbage and nesting deeper than `maxDepth` (arrays/objects; `[]` has depth 1) are errors.
    /// Integers stay `.int`; numbers with `.`/`e`/`E` become `.double`; object key order is kept.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 64) throws(JSONParseError) -> JSONValue {
        _ = seeded
        // Depth is checked on the raw bytes first (linear, no recursion), so a 100k-deep document fails fast
        // with a position, and the conversion below never recurses deeper than `maxDepth`.
        if let error = depthError(bytes, maxDepth: maxDepth) { throw error }

        var error = json_error_t()
        let flags = Int(JSON_REJECT_DUPLICATES) | Int(JSON_DECODE_ANY)
        let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self)
        // json_loadb reads nothing when the length is 0, but wants a non-null pointer.
        let root: UnsafeMutablePointer<json_t>? = withUnsafePointer(to: CChar(0)) { empty in
            json_loadb(base ?? empty, bytes.count, flags, &error)
        }
        guard let root else { throw JSONParseError(error) }
        defer { json_decref(root) }
        return try convert(root, depth: 0, maxDepth: maxDepth)
    }

    public static func parse(_ bytes: [UInt8], maxDepth: Int = 64) throws(JSONParseError) -> JSONValue {
        try withUnsafeBytesTyped(bytes) { buffer throws(JSONParseError) in try parse(buffer, maxDepth: maxDepth) }
    }

    public static func parse(_ text: String, maxDepth: Int = 64) throws(JSONParseError) -> JSONValue {
        var text = text
        text.makeContiguousUTF8()
        let result: Result<JSONValue, JSONParseError> = text.utf8.withContiguousStorageIfAvailable { utf8 in
            Result { () throws(JSONParseError) in try parse(UnsafeRawBufferPointer(utf8), maxDepth: maxDepth) }
        } ?? Result { () throws(JSONParseError) in try parse(Array(text.utf8), maxDepth: maxDepth) }
        return try result.get()
    }

    // MARK: - Internals

    private static func withUnsafeBytesTyped<R>(
        _ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(JSONParseError) -> R
    ) throws(JSONParseError) -> R {
        let result: Result<R, JSONParseError> = bytes.withUnsafeBytes { buffer in
            Result { () throws(JSONParseError) in try body(buffer) }
        }
        return try result.get()
    }

    /// Scans the bytes (skipping string contents) and reports the first `[`/`{` that opens level `maxDepth + 1`,
    /// located the way jansson locates errors (line, character column, bytes consumed).
    static func depthError(_ bytes: UnsafeRawBufferPointer, maxDepth: Int) -> JSONParseError? {
        // jansson enforces its own limit at 2048; anything within it we leave to jansson + the bounded conversion.
        var depth = 0
        var line = 1
        var column = 0
        var inString = false
        var escaped = false
        for (index, byte) in bytes.enumerated() {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 0
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > maxDepth {
                    return JSONParseError(
                        line: line, column: column, position: index + 1,
                        message: "maximum nesting depth \(maxDepth) exceeded")
                }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                if depth > 0 { depth -= 1 }
            default:
                break
            }
        }
        return nil
    }

    /// json_t (borrowed) → JSONValue. Recursion is bounded by `maxDepth` (already checked by the pre-scan; checked
    /// again here so the bound holds whatever the scanner thinks).
    private static func convert(
        _ value: UnsafeMutablePointer<json_t>, depth: Int, maxDepth: Int
    ) throws(JSONParseError) -> JSONValue {
        switch value.pointee.type {
        case JSON_NULL:
            return .null
        case JSON_TRUE:
            return .bool(true)
        case JSON_FALSE:
            return .bool(false)
        case JSON_INTEGER:
            return .int(Int64(json_integer_value(value)))
        case JSON_REAL:
            return .double(json_real_value(value))
        case JSON_STRING:
            return .string(copyString(json_string_value(value), count: json_string_length(value)))
        case JSON_ARRAY:
            guard depth < maxDepth else { throw convertDepthError(maxDepth) }
            let count = json_array_size(value)
            var items: [JSONValue] = []
            items.reserveCapacity(count)
            for i in 0..<count {
                guard let item = json_array_get(value, i) else { continue }
                items.append(try convert(item, depth: depth + 1, maxDepth: maxDepth))
            }
            return .array(items)
        case JSON_OBJECT:
            guard depth < maxDepth else { throw convertDepthError(maxDepth) }
            var entries: [(key: String, value: JSONValue)] = []
            entries.reserveCapacity(json_object_size(value))
            var iter = json_object_iter(value)
            while let it = iter {
                let key = copyString(json_object_iter_key(it), count: json_object_iter_key_len(it))
                if let member = json_object_iter_value(it) {
                    entries.append((key: key, value: try convert(member, depth: depth + 1, maxDepth: maxDepth)))
                }
                iter = json_object_iter_next(value, it)
            }
            return .object(JSONObject(entries))
        default:
            return .null
        }
    }

    private static func convertDepthError(_ maxDepth: Int) -> JSONParseError {
        JSONParseError(line: 0, column: 0, position: 0, message: "maximum nesting depth \(maxDepth) exceeded")
    }

    private static func copyString(_ pointer: UnsafePointer<CChar>?, count: Int) -> String {
        guard let pointer, count > 0 else { return "" }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: count) {
            String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
        }
    }
}

extension JSONParseError {
    init(_ error: json_error_t) {
        var error = error
        // text[159] holds the error code (json_error_code); the message is NUL-terminated before it.
        let message = withUnsafeBytes(of: &error.text) { raw -> String in
            let bytes = raw.prefix(raw.count - 1)
            let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
            return String(decoding: bytes[..<end], as: UTF8.self)
        }
        self.init(line: Int(error.line), column: Int(error.column), position: Int(error.position), message: message)
    }
}
