import Engine

/// A job's whole stream, read `readSize` bytes at a time, generated in chunks of about `chunkBytes`.
func drain(_ job: PreparedJob, chunkBytes: Int = CheckpointStream.defaultChunkBytes, readSize: Int = 1 << 16) throws -> [UInt8] {
    let stream = job.makeStream(chunkBytes: chunkBytes)
    var out: [UInt8] = []
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: readSize, alignment: 8)
    defer { buffer.deallocate() }
    while true {
        let n = try stream.read(into: buffer)
        if n == 0 { break }
        out.append(contentsOf: buffer[0..<n])
    }
    return out
}

/// The same stream through `produce` (the HTTP layer's path: values generated in place, small entries packed) into
/// one reused, 64-byte aligned piece buffer of `pieceBytes`. `chunkBytes` nil: the chunk that fits the buffer, as the
/// server creates it; larger chunks make `produce` fall back to `read`'s copy.
func drainPieces(_ job: PreparedJob, pieceBytes: Int, chunkBytes: Int? = nil) throws -> [UInt8] {
    let stream = job.makeStream(chunkBytes: chunkBytes ?? CheckpointStream.chunkBytes(forPieceBuffer: pieceBytes))
    var out: [UInt8] = []
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: pieceBytes, alignment: 64)
    defer { buffer.deallocate() }
    while true {
        let piece = try stream.produce(into: buffer)
        if piece.isEmpty { break }
        out.append(contentsOf: buffer[piece])
    }
    return out
}

/// Piece sizes for `drainPieces`: chunks of 64 bytes, of a few KiB (entries packed behind one another), the
/// server's 2 MiB; and a buffer too small for a chunk (the copy fallback).
let pieceSizes = [CheckpointStream.pieceHeadroom + CheckpointStream.pieceTailroom + 256 + 64, 12_000, 2 << 20]
