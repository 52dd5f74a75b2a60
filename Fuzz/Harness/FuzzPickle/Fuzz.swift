import Checkpoints

/// The input is archive/data.pkl of a stored (uncompressed) torch zip with two small storage records, so the
/// fuzzer spends its time in the pickle machine rather than in the zip directory.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let pickle = Array(UnsafeBufferPointer(start: data, count: size))
    let zip = storedZip([("archive/data.pkl", pickle), ("archive/version", Array("3\n".utf8)),
                         ("archive/data/0", [UInt8](repeating: 0, count: 16)), ("archive/data/1", [UInt8](repeating: 0, count: 8))])
    guard let loaded = try? CheckpointReader.load(bytes: zip, name: "fuzz.pth") else { return 0 }
    for (_, tensor) in loaded.stateDict.prefix(64) {
        _ = try? loaded.readBytes(tensor)
    }
    return 0
}

func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        crc ^= UInt32(b)
        for _ in 0 ..< 8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
    }
    return ~crc
}

func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
func le32(_ v: UInt32) -> [UInt8] { (0 ..< 4).map { UInt8((v >> (8 * $0)) & 0xFF) } }

/// A minimal stored zip (what torch.save writes, minus its padding records).
func storedZip(_ entries: [(String, [UInt8])]) -> [UInt8] {
    var out: [UInt8] = []
    var central: [UInt8] = []
    for (name, data) in entries {
        let offset = UInt32(out.count)
        let n = Array(name.utf8)
        let crc = crc32(data)
        out += le32(0x0403_4B50) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc)
            + le32(UInt32(data.count)) + le32(UInt32(data.count)) + le16(n.count) + le16(0) + n + data
        central += le32(0x0201_4B50) + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc)
            + le32(UInt32(data.count)) + le32(UInt32(data.count)) + le16(n.count) + le16(0) + le16(0) + le16(0) + le16(0)
            + le32(0) + le32(offset) + n
    }
    let cdOffset = UInt32(out.count)
    out += central
    out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(entries.count) + le16(entries.count) + le32(UInt32(central.count))
        + le32(cdOffset) + le16(0)
    return out
}

// SwiftPM links an executable's entry point as `FuzzPickle_main` (aliased to `main`); hand it to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@_cdecl("FuzzPickle_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var c = argc
    var v = argv
    return LLVMFuzzerRunDriver(&c, &v, fuzz)
}
