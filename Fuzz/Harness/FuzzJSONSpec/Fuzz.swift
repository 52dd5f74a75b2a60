import Engine
import JSON

/// Any bytes as a request body: parse as the service does (depth 128), then plan (no checkpoint folder, no URLs,
/// a 1 GiB job limit so absurd shapes are refused, not planned for long). Errors are fine; traps are not.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let body = try? JSONCodec.parse(bytes, maxDepth: 128) else { return 0 }
    _ = try? Engine.prepare(body, options: EngineOptions(maxJobBytes: 1 << 30)).report
    return 0
}

// SwiftPM links an executable's entry point as `FuzzJSONSpec_main` (aliased to `main`); hand it to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@_cdecl("FuzzJSONSpec_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var c = argc
    var v = argv
    return LLVMFuzzerRunDriver(&c, &v, fuzz)
}
