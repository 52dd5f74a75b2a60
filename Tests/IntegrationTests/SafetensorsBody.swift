import Foundation

/// A safetensors body split after its header: the JSON header bytes and the data section.
func safetensorsParts(_ body: Data) -> (header: [UInt8], data: Data) {
    let bytes = [UInt8](body.prefix(8))
    let n = bytes.enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
    return (Array(body.dropFirst(8).prefix(n)), body.dropFirst(8 + n))
}
