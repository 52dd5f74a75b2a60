import Checkpoints

/// Any bytes as a checkpoint file (safetensors, torch zip, legacy pickle: the reader detects which), then every
/// tensor's bytes read back as the Pretrained loader would.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let loaded = try? CheckpointReader.load(bytes: bytes, name: "fuzz") else { return 0 }
    for (_, tensor) in loaded.stateDict.prefix(64) {
        _ = try? loaded.readBytes(tensor)
    }
    return 0
}

// SwiftPM links an executable's entry point as `FuzzCheckpoint_main` (aliased to `main`); hand it to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@_cdecl("FuzzCheckpoint_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var c = argc
    var v = argv
    return LLVMFuzzerRunDriver(&c, &v, fuzz)
}
