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
