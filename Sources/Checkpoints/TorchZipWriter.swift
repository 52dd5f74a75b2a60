import Tensors

/// Streaming torch.save (zip, torch ≥ 1.6) writer.
///
/// Records, all stored (method 0), in this order, under `archiveName/`:
/// `data.pkl` (protocol-2 pickle of an `OrderedDict` of `torch._utils._rebuild_tensor_v2(...)`, key order kept),
/// `.format_version` (`1`), `.storage_alignment` (`64`), `byteorder` (`little`), `data/0` … `data/n-1` (entry `i`'s
/// bytes), the `extraRecords`, `version` (`3\n`), `.data/serialization_id` (40 digits).
/// Every local header carries a `FB` padding extra field so that the record's data starts at a multiple of 64.
/// Non-empty records use general-purpose flags 0x0808 (data descriptor + UTF-8) with CRC and sizes in a signed
/// data descriptor after the data; empty records use 0x0800 and no descriptor (as torch/miniz do).
/// ZIP64 is used per entry when its size or its local-header offset is ≥ 0xFFFFFFFF, and a ZIP64 end record +
/// locator are written when the central directory needs it.
/// Tied entries (`aliasOf`) get no record of their own: their pickle entry names the earlier entry's storage key, so
/// `torch.load` returns tensors sharing one storage, exactly as `torch.save` keys a storage once. Storage keys are
/// numbered in order of first appearance (`data/0`, `data/1`, ...), as torch.save numbers them.
/// Entry names must be unique (precondition).
public struct TorchZipWriter: CheckpointWriter, Sendable {
    public let entries: [CheckpointEntry]
    public let archiveName: String
    public let totalBytes: UInt64
    public let dataRanges: [Range<UInt64>]

    struct Record: Sendable {
        var name: [UInt8]
        var size: UInt64
        var lho: UInt64
        var zip64LFH: Bool
        var lfh: [UInt8]
        var content: [UInt8]?   // inline records; nil for data records and the serialization id
        var crc: UInt32 = 0
        var descriptorSize: Int { size == 0 ? 0 : (zip64LFH ? 24 : 16) }
        var flags: UInt16 { size == 0 ? 0x0800 : 0x0808 }
    }

    private var records: [Record]
    private let firstDataRecord: Int
    /// Per entry: its storage key (= index of its data record after `firstDataRecord`).
    private let storageKeys: [Int]
    private let serializationIDRecord: Int
    private let centralDirectoryOffset: UInt64
    private var sequence: WriterSequence
    /// Next record whose local header has not been emitted yet.
    private var nextRecord = 0

    static let alignment: UInt64 = 64
    static let serializationIDLength = 40

    public init(entries: [CheckpointEntry], archiveName: String = "archive",
                extraRecords: ([Range<UInt64>]) -> [(name: String, bytes: [UInt8])]) {
        precondition(!archiveName.isEmpty && !archiveName.contains("/"), "TorchZipWriter: bad archive name \(archiveName)")
        var seen = Set<String>()
        var keys: [Int] = []
        var storageCount = 0
        for (i, e) in entries.enumerated() {
            precondition(seen.insert(e.name).inserted, "TorchZipWriter: duplicate tensor name \(e.name)")
            precondition(e.shape.allSatisfy { $0 >= 0 }, "TorchZipWriter: negative dimension in \(e.name)")
            if let a = e.aliasOf {
                precondition(a >= 0 && a < i && entries[a].aliasOf == nil && entries[a].dtype == e.dtype
                             && entries[a].byteCount == e.byteCount, "TorchZipWriter: bad alias \(e.name) -> \(a)")
                keys.append(keys[a])
            } else {
                keys.append(storageCount)
                storageCount += 1
            }
        }
        self.entries = entries
        self.storageKeys = keys
        self.archiveName = archiveName
        let prefix = archiveName + "/"

        var records: [Record] = []
        var cursor: UInt64 = 0
        func add(_ name: String, size: UInt64, content: [UInt8]?) {
            let nameBytes = Array((prefix + name).utf8)
            precondition(nameBytes.count < 0xFFFF, "TorchZipWriter: record name too long")
            let lho = cursor
            let zip64 = size >= 0xFFFF_FFFF || lho >= 0xFFFF_FFFF
            let lfh = Self.localHeader(name: nameBytes, lho: lho, size: size, zip64: zip64)
            var r = Record(name: nameBytes, size: size, lho: lho, zip64LFH: zip64, lfh: lfh, content: content)
            if let content { r.crc = crc32(content) }
            records.append(r)
            cursor = lho + UInt64(lfh.count) + size + UInt64(r.descriptorSize)
        }
        func addInline(_ name: String, _ bytes: [UInt8]) { add(name, size: UInt64(bytes.count), content: bytes) }

        addInline("data.pkl", torchStateDictPickle(entries, storageKeys: keys))
        addInline(".format_version", Array("1".utf8))
        addInline(".storage_alignment", Array("64".utf8))
        addInline("byteorder", Array("little".utf8))
        firstDataRecord = records.count
        var ranges: [Range<UInt64>] = []
        for (i, e) in entries.enumerated() {
            if let a = e.aliasOf {
                ranges.append(ranges[a])
                continue
            }
            add("data/\(keys[i])", size: UInt64(e.byteCount), content: nil)
            let r = records[records.count - 1]
            let start = r.lho + UInt64(r.lfh.count)
            ranges.append(start ..< start + r.size)
        }
        dataRanges = ranges
        var extraNames = Set(["data.pkl", ".format_version", ".storage_alignment", "byteorder", "version", ".data/serialization_id"])
        for x in extraRecords(ranges) {
            precondition(!x.name.isEmpty && !x.name.hasPrefix("/") && !x.name.hasPrefix("data/") && extraNames.insert(x.name).inserted,
                         "TorchZipWriter: bad or duplicate extra record name \(x.name)")
            addInline(x.name, x.bytes)
        }
        addInline("version", Array("3\n".utf8))
        serializationIDRecord = records.count
        add(".data/serialization_id", size: UInt64(Self.serializationIDLength), content: nil)

        centralDirectoryOffset = cursor
        let cdSize = records.reduce(UInt64(0)) { $0 + UInt64(Self.centralEntrySize($1)) }
        let needsZip64End = Self.needsZip64End(count: records.count, cdOffset: cursor, cdSize: cdSize)
        totalBytes = cursor + cdSize + (needsZip64End ? 56 + 20 : 0) + 22
        self.records = records
        sequence = WriterSequence(byteCounts: entries.map { $0.aliasOf == nil ? UInt64($0.byteCount) : 0 })
    }

    public func writesData(forEntry index: Int) -> Bool { entries[index].aliasOf == nil }

    // MARK: - Streaming

    public mutating func prefix(forEntry index: Int) -> [UInt8] {
        sequence.beginEntry(index)
        guard writesData(forEntry: index) else { return [] }
        return emitRecords(through: firstDataRecord + storageKeys[index])
    }

    public mutating func consume(_ data: UnsafeRawBufferPointer, forEntry index: Int) {
        sequence.consume(data.count, index)
        let r = firstDataRecord + storageKeys[index]
        records[r].crc = crc32(records[r].crc, data)
    }

    public mutating func suffix(forEntry index: Int) -> [UInt8] {
        sequence.endEntry(index)
        guard writesData(forEntry: index) else { return [] }
        return descriptor(records[firstDataRecord + storageKeys[index]])
    }

    public mutating func trailer() -> [UInt8] {
        sequence.finish()
        var out = emitRecords(through: records.count - 1)
        out += centralDirectory()
        assert(out.count > 0)
        return out
    }

    /// Emits every record before `last` completely, then `last`'s local header (and, for inline records, its data and
    /// descriptor). Data records' bytes come from the caller.
    private mutating func emitRecords(through last: Int) -> [UInt8] {
        var out: [UInt8] = []
        while nextRecord <= last {
            let i = nextRecord
            nextRecord += 1
            if i == serializationIDRecord {
                let id = serializationID()
                records[i].content = id
                records[i].crc = crc32(id)
            }
            out += records[i].lfh
            if let content = records[i].content {
                out += content
                out += descriptor(records[i])
            } else {
                precondition(i == last, "internal: data record emitted without data")
            }
        }
        return out
    }

    /// 40 decimal digits derived from record names and CRCs (torch treats it as opaque).
    private func serializationID() -> [UInt8] {
        var h1: UInt64 = 0xcbf2_9ce4_8422_2325
        var h2: UInt64 = 0x8422_2325_cbf2_9ce4
        for r in records[..<serializationIDRecord] {
            for b in r.name { h1 = (h1 ^ UInt64(b)) &* 0x100_0000_01b3 }
            var crc = r.crc
            for _ in 0 ..< 4 { h2 = (h2 ^ UInt64(crc & 0xff)) &* 0x100_0000_01b3; crc >>= 8 }
        }
        func digits(_ v: UInt64) -> String { let s = String(v); return String(repeating: "0", count: 20 - s.count) + s }
        return Array((digits(h1) + digits(h2)).utf8)
    }

    // MARK: - ZIP structures

    static func localHeader(name: [UInt8], lho: UInt64, size: UInt64, zip64: Bool) -> [UInt8] {
        var h: [UInt8] = []
        h.appendLE32(0x0403_4b50)
        h.appendLE16(zip64 ? 45 : 20)             // version needed
        h.appendLE16(size == 0 ? 0x0800 : 0x0808)  // UTF-8 (+ data descriptor)
        h.appendLE16(0)                            // stored
        h.appendLE16(0)                            // time
        h.appendLE16(0x21)                         // date 1980-01-01
        h.appendLE32(0)                            // crc (in the descriptor)
        h.appendLE32(zip64 ? 0xFFFF_FFFF : 0)      // compressed size
        h.appendLE32(zip64 ? 0xFFFF_FFFF : 0)      // uncompressed size
        h.appendLE16(UInt16(name.count))
        let zip64Extra = zip64 ? 20 : 0
        let unpadded = lho + 30 + UInt64(name.count) + UInt64(zip64Extra) + 4
        let pad = Int((alignment - unpadded % alignment) % alignment)
        h.appendLE16(UInt16(zip64Extra + 4 + pad))
        h += name
        if zip64 {
            h.appendLE16(0x0001); h.appendLE16(16)
            h.appendLE64(0); h.appendLE64(0)       // sizes follow in the descriptor
        }
        h.appendLE16(0x4246)                       // "FB" padding field, as torch writes it
        h.appendLE16(UInt16(pad))
        h += [UInt8](repeating: UInt8(ascii: "Z"), count: pad)
        return h
    }

    private func descriptor(_ r: Record) -> [UInt8] {
        guard r.size > 0 else { return [] }
        var d: [UInt8] = []
        d.appendLE32(0x0807_4b50)
        d.appendLE32(r.crc)
        if r.zip64LFH { d.appendLE64(r.size); d.appendLE64(r.size) } else { d.appendLE32(UInt32(r.size)); d.appendLE32(UInt32(r.size)) }
        return d
    }

    static func centralZip64Fields(_ r: Record) -> (sizes: Bool, offset: Bool) {
        (r.size >= 0xFFFF_FFFF, r.lho >= 0xFFFF_FFFF)
    }

    static func centralEntrySize(_ r: Record) -> Int {
        let f = centralZip64Fields(r)
        let n = (f.sizes ? 2 : 0) + (f.offset ? 1 : 0)
        return 46 + r.name.count + (n > 0 ? 4 + 8 * n : 0)
    }

    static func needsZip64End(count: Int, cdOffset: UInt64, cdSize: UInt64) -> Bool {
        count >= 0xFFFF || cdOffset >= 0xFFFF_FFFF || cdSize >= 0xFFFF_FFFF
    }

    private func centralDirectory() -> [UInt8] {
        var out: [UInt8] = []
        for r in records {
            let f = Self.centralZip64Fields(r)
            let zip64 = f.sizes || f.offset || r.zip64LFH
            out.appendLE32(0x0201_4b50)
            out.appendLE16(zip64 ? 45 : 20)        // version made by (MS-DOS attrs)
            out.appendLE16(zip64 ? 45 : 20)        // version needed
            out.appendLE16(r.flags)
            out.appendLE16(0)
            out.appendLE16(0)
            out.appendLE16(0x21)
            out.appendLE32(r.crc)
            out.appendLE32(f.sizes ? 0xFFFF_FFFF : UInt32(r.size))
            out.appendLE32(f.sizes ? 0xFFFF_FFFF : UInt32(r.size))
            out.appendLE16(UInt16(r.name.count))
            let n = (f.sizes ? 2 : 0) + (f.offset ? 1 : 0)
            out.appendLE16(UInt16(n > 0 ? 4 + 8 * n : 0))
            out.appendLE16(0)                      // comment
            out.appendLE16(0)                      // disk
            out.appendLE16(0)                      // internal attrs
            out.appendLE32(0)                      // external attrs
            out.appendLE32(f.offset ? 0xFFFF_FFFF : UInt32(r.lho))
            out += r.name
            if n > 0 {
                out.appendLE16(0x0001); out.appendLE16(UInt16(8 * n))
                if f.sizes { out.appendLE64(r.size); out.appendLE64(r.size) }
                if f.offset { out.appendLE64(r.lho) }
            }
        }
        let cdSize = UInt64(out.count)
        let count = UInt64(records.count)
        if Self.needsZip64End(count: records.count, cdOffset: centralDirectoryOffset, cdSize: cdSize) {
            let eocd64Offset = centralDirectoryOffset + cdSize
            out.appendLE32(0x0606_4b50)
            out.appendLE64(44)
            out.appendLE16(45); out.appendLE16(45)
            out.appendLE32(0); out.appendLE32(0)
            out.appendLE64(count); out.appendLE64(count)
            out.appendLE64(cdSize); out.appendLE64(centralDirectoryOffset)
            out.appendLE32(0x0706_4b50)
            out.appendLE32(0)
            out.appendLE64(eocd64Offset)
            out.appendLE32(1)
        }
        out.appendLE32(0x0605_4b50)
        out.appendLE16(0); out.appendLE16(0)
        out.appendLE16(UInt16(min(count, 0xFFFF))); out.appendLE16(UInt16(min(count, 0xFFFF)))
        out.appendLE32(UInt32(min(cdSize, 0xFFFF_FFFF)))
        out.appendLE32(UInt32(min(centralDirectoryOffset, 0xFFFF_FFFF)))
        out.appendLE16(0)
        return out
    }
}
