import Crypto

/// Streaming SHA-256 of a spooled checkpoint and of each tensor in it, fed while the bytes are written
/// (swift-crypto: BoringSSL's implementation on Linux).
struct SHA256: Sendable {
    private var hasher = Crypto.SHA256()

    init() {}

    mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }

    mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    mutating func finalize() -> [UInt8] { Array(hasher.finalize()) }

    mutating func hexDigest() -> String { Self.hex(finalize()) }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
