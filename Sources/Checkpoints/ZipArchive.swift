/// The central directory of a zip archive, read without trusting it: every offset and size is checked against
/// the file size, and only stored (uncompressed) data is ever read.
struct ZipArchive {
    struct Entry: Sendable {
        var name: String
        var flags: UInt16
        var method: UInt16
        var crc: UInt32
        var compressedSize: UInt64
        var size: UInt64
        var localHeaderOffset: UInt64
    }

    let source: ByteSource
    let entries: [Entry]
    /// Where the central directory starts; every record's data must end before it.
    let centralDirectoryOffset: UInt64
    let usesZip64End: Bool

    init(_ source: ByteSource, limits: ReadLimits) throws(CheckpointReadError) {
        self.source = source
        let size = source.size
        let path = source.path
        func bad(_ msg: String) -> CheckpointReadError { CheckpointReadError(.malformed, "\(path): zip: \(msg)") }
        guard size >= 22 else { throw CheckpointReadError(.truncated, "\(path): zip: file too short (\(size) bytes) for an end of central directory record") }
        let tailStart = size - min(size, 0xFFFF + 22)
        let tail = try source.bytes(tailStart ..< size)
        var eocdPos: Int? = nil
        var p = tail.count - 22
        while p >= 0 {
            if tail[p] == 0x50 && tail[p + 1] == 0x4b && tail[p + 2] == 5 && tail[p + 3] == 6 {
                let commentLen = Int(tail[p + 20]) | Int(tail[p + 21]) << 8
                if p + 22 + commentLen == tail.count { eocdPos = p; break }
            }
            p -= 1
        }
        guard let eocdPos else {
            throw CheckpointReadError(.truncated, "\(path): zip: no end of central directory record (the archive is truncated or not a zip)")
        }
        var r = LEReader(tail, at: eocdPos + 4)
        let disk = r.u16()!, cdDisk = r.u16()!
        var count = UInt64(r.u16()!)
        let countTotal = UInt64(r.u16()!)
        var cdSize = UInt64(r.u32()!)
        var cdOffset = UInt64(r.u32()!)
        let eocdAbsolute = tailStart + UInt64(eocdPos)
        var structuresEnd = eocdAbsolute   // the central directory must end before this
        var zip64 = false
        if disk != 0 || cdDisk != 0 || count != countTotal { throw CheckpointReadError(.unsupported, "\(path): zip: multi-disk archives are not supported") }

        if eocdAbsolute >= 20 {
            let loc = try source.bytes(eocdAbsolute - 20 ..< eocdAbsolute)
            var lr = LEReader(loc)
            if lr.u32()! == 0x0706_4b50 {
                zip64 = true
                _ = lr.u32()!
                let eocd64Offset = lr.u64()!
                _ = lr.u32()!
                guard eocd64Offset <= eocdAbsolute - 20, eocdAbsolute - 20 - eocd64Offset >= 56 else {
                    throw bad("ZIP64 end record offset \(eocd64Offset) is outside the file")
                }
                let rec = try source.bytes(eocd64Offset ..< eocd64Offset + 56)
                var er = LEReader(rec)
                guard er.u32()! == 0x0606_4b50 else { throw bad("no ZIP64 end record at offset \(eocd64Offset)") }
                _ = er.u64()!; _ = er.u16()!; _ = er.u16()!
                let d64 = er.u32()!, cd64 = er.u32()!
                let n64 = er.u64()!, n64Total = er.u64()!
                guard d64 == 0, cd64 == 0, n64 == n64Total else { throw CheckpointReadError(.unsupported, "\(path): zip: multi-disk archives are not supported") }
                count = n64
                cdSize = er.u64()!
                cdOffset = er.u64()!
                structuresEnd = eocd64Offset
            }
        }
        guard cdOffset <= structuresEnd, cdSize <= structuresEnd - cdOffset else {
            throw CheckpointReadError(.truncated, "\(path): zip: central directory (offset \(cdOffset), \(cdSize) bytes) lies outside the file (\(size) bytes); truncated archive?")
        }
        guard count <= UInt64(limits.maxZipEntries) else {
            throw CheckpointReadError(.limitExceeded, "\(path): zip: \(count) entries exceed the limit of \(limits.maxZipEntries)")
        }
        guard cdSize <= UInt64(limits.maxZipDirectoryBytes) else {
            throw CheckpointReadError(.limitExceeded, "\(path): zip: central directory of \(cdSize) bytes exceeds the limit of \(limits.maxZipDirectoryBytes)")
        }
        guard count * 46 <= cdSize else { throw bad("\(count) entries cannot fit in a \(cdSize)-byte central directory") }

        let cd = try source.bytes(cdOffset ..< cdOffset + cdSize)
        var c = LEReader(cd)
        var entries: [Entry] = []
        entries.reserveCapacity(Int(count))
        for index in 0 ..< Int(count) {
            guard c.remaining >= 46, c.u32()! == 0x0201_4b50 else { throw bad("central directory entry \(index) is damaged") }
            _ = c.u16()!; _ = c.u16()!
            let flags = c.u16()!, method = c.u16()!
            _ = c.u16()!; _ = c.u16()!
            let crc = c.u32()!
            var csize = UInt64(c.u32()!), usize = UInt64(c.u32()!)
            let nameLen = Int(c.u16()!), extraLen = Int(c.u16()!), commentLen = Int(c.u16()!)
            let diskStart = c.u16()!
            _ = c.u16()!; _ = c.u32()!
            var lho = UInt64(c.u32()!)
            guard let nameBytes = c.take(nameLen), let extra = c.take(extraLen), c.take(commentLen) != nil else {
                throw bad("central directory entry \(index) runs past the directory")
            }
            guard diskStart == 0 || diskStart == 0xFFFF else { throw CheckpointReadError(.unsupported, "\(path): zip: multi-disk archives are not supported") }
            if usize == 0xFFFF_FFFF || csize == 0xFFFF_FFFF || lho == 0xFFFF_FFFF {
                var x = LEReader(Array(extra))
                var found = false
                while x.remaining >= 4 {
                    let id = x.u16()!, len = Int(x.u16()!)
                    guard let body = x.take(len) else { break }
                    if id == 0x0001 {
                        found = true
                        var z = LEReader(Array(body))
                        if usize == 0xFFFF_FFFF { guard let v = z.u64() else { throw bad("short ZIP64 extra field in entry \(index)") }; usize = v }
                        if csize == 0xFFFF_FFFF { guard let v = z.u64() else { throw bad("short ZIP64 extra field in entry \(index)") }; csize = v }
                        if lho == 0xFFFF_FFFF { guard let v = z.u64() else { throw bad("short ZIP64 extra field in entry \(index)") }; lho = v }
                        break
                    }
                }
                if !found { throw bad("entry \(index) has 0xFFFFFFFF fields but no ZIP64 extra field") }
            }
            // Names are UTF-8 (torch sets bit 11); anything else is decoded leniently, it only has to match.
            let name = String(decoding: nameBytes, as: UTF8.self)
            guard lho < cdOffset, csize <= cdOffset - lho else {
                throw bad("entry \(name): data (offset \(lho), \(csize) bytes) overlaps the central directory or lies outside the file")
            }
            entries.append(Entry(name: name, flags: flags, method: method, crc: crc, compressedSize: csize, size: usize, localHeaderOffset: lho))
        }
        self.entries = entries
        self.centralDirectoryOffset = cdOffset
        self.usesZip64End = zip64
    }

    /// Absolute byte range of a stored entry's data (from the local header), checked against the archive.
    func dataRange(_ e: Entry) throws(CheckpointReadError) -> Range<UInt64> {
        let path = source.path
        guard e.flags & 1 == 0 else { throw CheckpointReadError(.unsupported, "\(path): zip entry \(e.name) is encrypted") }
        guard e.method == 0 else {
            throw CheckpointReadError(.unsupported, "\(path): zip entry \(e.name) is compressed (method \(e.method)); torch checkpoints store records uncompressed")
        }
        guard e.compressedSize == e.size else {
            throw CheckpointReadError(.malformed, "\(path): stored zip entry \(e.name) has compressed size \(e.compressedSize) ≠ size \(e.size)")
        }
        guard e.localHeaderOffset <= centralDirectoryOffset, centralDirectoryOffset - e.localHeaderOffset >= 30 else {
            throw CheckpointReadError(.malformed, "\(path): zip entry \(e.name): local header outside the archive")
        }
        let h = try source.bytes(e.localHeaderOffset ..< e.localHeaderOffset + 30)
        var r = LEReader(h)
        guard r.u32()! == 0x0403_4b50 else { throw CheckpointReadError(.malformed, "\(path): zip entry \(e.name): no local header at offset \(e.localHeaderOffset)") }
        r.pos = 26
        let n = UInt64(r.u16()!), x = UInt64(r.u16()!)
        let start = e.localHeaderOffset + 30 + n + x
        guard start <= centralDirectoryOffset, e.size <= centralDirectoryOffset - start else {
            throw CheckpointReadError(.malformed, "\(path): zip entry \(e.name): data (\(e.size) bytes at \(start)) runs into the central directory")
        }
        return start ..< start + e.size
    }

    /// A whole stored entry, bounded by `maxBytes`; verifies its CRC.
    func read(_ e: Entry, maxBytes: Int) throws(CheckpointReadError) -> [UInt8] {
        let range = try dataRange(e)
        guard range.count <= UInt64(maxBytes) else {
            throw CheckpointReadError(.limitExceeded, "\(source.path): zip entry \(e.name) has \(range.count) bytes, over the limit of \(maxBytes)")
        }
        let bytes = try source.bytes(range)
        guard crc32(bytes) == e.crc else { throw CheckpointReadError(.malformed, "\(source.path): zip entry \(e.name): CRC mismatch") }
        return bytes
    }
}
