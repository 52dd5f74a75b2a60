import Foundation
import JSON
import Logging

/// `--log-format json`: one JSON object per line on stdout
/// (`{"ts":…,"level":…,"logger":…,"msg":…, <metadata…>}`). Integer, floating-point and
/// boolean metadata stay JSON numbers/booleans so log pipelines can aggregate them.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let sink: @Sendable (String) -> Void

    public init(label: String, sink: @escaping @Sendable (String) -> Void = JSONLogHandler.stdout) {
        self.label = label
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: JSONObject = [
            "ts": .string(Self.timestamp()),
            "level": .string(event.level.rawValue),
            "logger": .string(label),
            "msg": .string(event.message.description),
        ]
        if let error = event.error { object["error"] = .string(String(describing: error)) }
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for key in merged.keys.sorted() where object[key] == nil {
            object[key] = Self.json(merged[key]!)
        }
        sink(JSONCodec.serialize(.object(object)))
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let s): return .string(s)
        case .stringConvertible(let v):
            switch v {
            case let i as Int: return .int(Int64(i))
            case let i as Int64: return .int(i)
            case let u as UInt64: return u <= UInt64(Int64.max) ? .int(Int64(u)) : .string(String(u))
            case let d as Double: return d.isFinite ? .double(d) : .string(String(d))
            case let b as Bool: return .bool(b)
            default: return .string(v.description)
            }
        case .array(let a): return .array(a.map(json))
        case .dictionary(let d): return .object(JSONObject(d.keys.sorted().map { (key: $0, value: json(d[$0]!)) }))
        }
    }

    private static func timestamp() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = time_t(tv.tv_sec)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1,
                      parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, Int32(tv.tv_usec / 1000))
    }

    private static let stdoutLock = NSLock()

    /// Writes a line to stdout atomically (whole lines only, even from many threads).
    public static let stdout: @Sendable (String) -> Void = { line in
        stdoutLock.withLock {
            let bytes = Array((line + "\n").utf8)
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = write(1, raw.baseAddress! + offset, raw.count - offset)
                    if n <= 0 { break }
                    offset += n
                }
            }
        }
    }
}
