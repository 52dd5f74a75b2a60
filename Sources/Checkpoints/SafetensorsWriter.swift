import JSON
import Tensors

/// Streaming safetensors writer.
///
/// Layout: u64 LE header length N, compact JSON header (`__metadata__` first when non-empty, then the tensors in
/// the given order with consecutive `data_offsets`), right-padded with spaces so N is a multiple of 8, then the data.
/// Entries are written in the given order (state_dict order), not the official writer's dtype-rank order; the official
/// loader accepts any order and does not require alignment.
/// Entry names must be unique (a precondition: the format cannot express duplicates).
public struct SafetensorsWriter: CheckpointWriter, Sendable {
    public let entries: [CheckpointEntry]
    public private(set) var totalBytes: UInt64
    public private(set) var dataRanges: [Range<UInt64>]
    /// The 8-byte length plus the padded JSON header.
    public let header: [UInt8]
    private var sequence: WriterSequence
    private var headerEmitted = false

    /// `metadata` is called with candidate data ranges until the header size is stable (the init report embeds byte
    /// ranges that depend on the header length); its result becomes `__metadata__` (string→string, emitted in the
    /// given order; an empty result omits `__metadata__`). It is called at least once and its last result is used.
    /// `metadataEmbedsRanges`: the metadata holds each absolute bound once as a decimal integer and depends on the
    /// ranges in nothing else (the init report). The fixed point is then predicted from the first call, so
    /// `metadata` runs twice instead of three or more times, with the same result.
    public init(entries: [CheckpointEntry], metadataEmbedsRanges: Bool = false,
                metadata: ([Range<UInt64>]) -> [(key: String, value: String)]) {
        var seen = Set<String>()
        for e in entries {
            precondition(seen.insert(e.name).inserted, "SafetensorsWriter: duplicate tensor name \(e.name)")
            precondition(e.name != "__metadata__", "SafetensorsWriter: tensor name __metadata__ is reserved")
            precondition(e.shape.allSatisfy { $0 >= 0 }, "SafetensorsWriter: negative dimension in \(e.name)")
        }
        self.entries = entries
        let sizes = entries.map { UInt64($0.byteCount) }
        var relative: [Range<UInt64>] = []
        var offset: UInt64 = 0
        for s in sizes { relative.append(offset ..< offset + s); offset += s }
        let dataBytes = offset

        func absolute(_ n: Int) -> [Range<UInt64>] {
            let base = 8 + UInt64(n)
            return relative.map { (base + $0.lowerBound) ..< (base + $0.upperBound) }
        }
        // Fixed point on the padded header length N. N never decreases, so this terminates; if the JSON
        // shrinks below a previous N it is simply padded with more spaces (the loader accepts any trailing spaces).
        var n = 0
        let tensorsJSON = Self.tensorsJSON(entries: entries, relative: relative)   // the same at every N
        var json = Self.headerJSON(tensors: tensorsJSON, metadata: metadata(absolute(0)))
        if metadataEmbedsRanges {
            // At N the JSON is the first one plus the digits the bounds gain over N = 0: iterate that model (the
            // same steps the loop below takes) and check the prediction with one real call.
            let first = json.count
            while true {
                let predicted = first + Self.digitGrowth(relative, from: 8, to: 8 + UInt64(n))
                if predicted <= n { break }
                n = (predicted + 7) & ~7
            }
            json = Self.headerJSON(tensors: tensorsJSON, metadata: metadata(absolute(n)))
        }
        while json.count > n {
            n = (json.count + 7) & ~7
            json = Self.headerJSON(tensors: tensorsJSON, metadata: metadata(absolute(n)))
        }
        var header: [UInt8] = []
        header.reserveCapacity(8 + n)
        header.appendLE64(UInt64(n))
        header.append(contentsOf: json)
        header.append(contentsOf: [UInt8](repeating: 0x20, count: n - json.count))
        self.header = header
        self.dataRanges = absolute(n)
        self.totalBytes = 8 + UInt64(n) + dataBytes
        self.sequence = WriterSequence(byteCounts: sizes)
    }

    /// Decimal digits the bounds of `ranges` gain when they are shifted by `to` instead of `from`.
    static func digitGrowth(_ ranges: [Range<UInt64>], from: UInt64, to: UInt64) -> Int {
        @inline(__always) func digits(_ x: UInt64) -> Int {
            var d = 1, v = x
            while v >= 10 { v /= 10; d += 1 }
            return d
        }
        var growth = 0
        for r in ranges {
            growth += digits(r.lowerBound + to) - digits(r.lowerBound + from)
            growth += digits(r.upperBound + to) - digits(r.upperBound + from)
        }
        return growth
    }

    /// The header's JSON: `{"__metadata__":{...},` then the members of `tensors` (an object's JSON text).
    static func headerJSON(tensors: [UInt8], metadata: [(key: String, value: String)]) -> [UInt8] {
        guard !metadata.isEmpty else { return tensors }
        var json = JSONCodec.serializeBytes(.object(JSONObject([
            (key: "__metadata__", value: .object(JSONObject(metadata.map { (key: $0.key, value: .string($0.value)) }))),
        ])))
        guard tensors.count > 2 else { return json }   // `{}`: no tensors
        json[json.count - 1] = UInt8(ascii: ",")
        json.append(contentsOf: tensors.dropFirst())
        return json
    }

    /// The tensors' part of the header, as one JSON object.
    static func tensorsJSON(entries: [CheckpointEntry], relative: [Range<UInt64>]) -> [UInt8] {
        // Built as a list: names are unique (checked in init), and a keyed insert per tensor would be quadratic.
        var fields: [(key: String, value: JSONValue)] = []
        fields.reserveCapacity(entries.count)
        for (e, r) in zip(entries, relative) {
            fields.append((e.name, [
                "dtype": .string(e.dtype.safetensorsName),
                "shape": .array(e.shape.map { .int(Int64($0)) }),
                "data_offsets": [.int(Int64(r.lowerBound)), .int(Int64(r.upperBound))],
            ]))
        }
        return JSONCodec.serializeBytes(.object(JSONObject(fields)))
    }

    public mutating func prefix(forEntry index: Int) -> [UInt8] {
        sequence.beginEntry(index)
        if index == 0 { headerEmitted = true; return header }
        return []
    }

    public mutating func consume(_ data: UnsafeRawBufferPointer, forEntry index: Int) {
        sequence.consume(data.count, index)
    }

    public mutating func suffix(forEntry index: Int) -> [UInt8] {
        sequence.endEntry(index)
        return []
    }

    public mutating func trailer() -> [UInt8] {
        sequence.finish()
        if !headerEmitted { headerEmitted = true; return header }
        return []
    }
}
