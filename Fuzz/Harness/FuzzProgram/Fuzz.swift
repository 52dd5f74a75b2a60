import Engine
import JSON

/// Any bytes as a program request: parsed as the service does (depth 128); a JSON object without "program" is
/// wrapped as {"program": it}. Planned with a 1 MiB job limit (so the program's storage and work limits are small)
/// and, when accepted, replayed to the last byte of the stream. Errors are fine; traps are not.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard var body = try? JSONCodec.parse(bytes, maxDepth: 128) else { return 0 }
    if body.objectValue?["program"] == nil { body = .object(JSONObject([(key: "program", value: body)])) }
    guard let job = try? Engine.prepare(body, options: EngineOptions(maxJobBytes: 1 << 20)) else { return 0 }
    let stream = job.makeStream(chunkBytes: 1 << 16)
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    var total: UInt64 = 0
    while let n = try? buffer.withUnsafeMutableBytes({ try stream.read(into: $0) }), n > 0 { total += UInt64(n) }
    return 0
}

// SwiftPM links an executable's entry point as `FuzzProgram_main` (aliased to `main`); hand it to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@_cdecl("FuzzProgram_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var c = argc
    var v = argv
    return LLVMFuzzerRunDriver(&c, &v, fuzz)
}
