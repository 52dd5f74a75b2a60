// swift-tools-version:6.0
import PackageDescription

// The random kernels reproduce torch's fused multiply-adds with explicit `fma`; without an FMA-capable
// target those become libm calls (~20x slower for normal_). x86-64 builds target Haswell (AVX2 + FMA),
// the same CPU level torch's AVX2 kernels need.
#if arch(x86_64)
let cpuFlags = ["-target-cpu", "haswell"]
#else
let cpuFlags: [String] = []
#endif
// The numeric targets are optimized in debug builds too: the test suites generate hundreds of MB through them
// (real models in the Python client tests), which unoptimized Swift makes ~10x slower.
let kernelSettings: [SwiftSetting] = [.unsafeFlags(cpuFlags), .unsafeFlags(["-O"], .when(configuration: .debug))]
// TorchRandomAVX512 compiles TorchRandom's inlinable float32 loops again for AVX-512 (chosen at run time when the CPU
// has it: CPUCapability). Without -mprefer-vector-width=512 LLVM's Skylake tuning keeps 256-bit vectors.
#if arch(x86_64)
let avx512Flags = ["-target-cpu", "skylake-avx512", "-Xcc", "-mprefer-vector-width=512"]
#else
let avx512Flags: [String] = []
#endif
let avx512Settings: [SwiftSetting] = [.unsafeFlags(avx512Flags), .unsafeFlags(["-O"], .when(configuration: .debug))]

// Dependencies point one way: executable → service → engine → domain → primitives.
// Only CJansson/JSON and CMicroHTTPD/CMicroHTTPDShim/HTTPServer touch C.
let package = Package(
    name: "weightinit",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "weightinit", targets: ["weightinit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
    ],
    targets: [
        // C at the edge.
        .systemLibrary(name: "CJansson", pkgConfig: "jansson", providers: [.apt(["libjansson-dev"])]),
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        .target(name: "CMicroHTTPDShim", dependencies: ["CMicroHTTPD"]),
        .target(name: "JSON", dependencies: ["CJansson"]),
        .target(name: "HTTPServer", dependencies: ["CMicroHTTPD", "CMicroHTTPDShim"]),

        // The domain: pure Swift.
        .target(name: "Tensors", swiftSettings: kernelSettings),
        .target(name: "TorchRandom", dependencies: ["Tensors"], swiftSettings: kernelSettings),
        .target(name: "TorchRandomAVX512", dependencies: ["TorchRandom"], swiftSettings: avx512Settings),
        .target(name: "TorchInit", dependencies: ["Tensors", "TorchRandom"], swiftSettings: kernelSettings),
        .target(name: "Model", dependencies: ["JSON", "Tensors", "TorchInit"]),
        // Traced programs (docs/programs.md): parsed, validated and compiled to the same timeline as a spec.
        .target(name: "Program", dependencies: ["JSON", "Tensors", "TorchInit", "Model"]),
        .target(name: "Checkpoints", dependencies: ["Tensors", "JSON"], linkerSettings: [.linkedLibrary("z")]),
        .target(name: "MMEngine", dependencies: ["JSON", "Tensors", "TorchInit", "Model", "Checkpoints"]),
        .target(name: "Engine", dependencies: ["JSON", "Tensors", "TorchRandom", "TorchRandomAVX512", "TorchInit", "Model", "Program", "MMEngine", "Checkpoints"]),

        // The service and the command line.
        // The service knows the engine only through the `InitializationBackend` protocol;
        // the executable wires the real engine in.
        .target(name: "Service", dependencies: [
            "JSON", "HTTPServer",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .executableTarget(name: "weightinit", dependencies: [
            "Engine", "Service", "JSON",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Kernel throughput (bench/kernels.sh): not part of the product.
        .executableTarget(name: "kernelbench", dependencies: ["TorchRandom", "TorchRandomAVX512", "TorchInit"], path: "bench/kernelbench",
                          swiftSettings: kernelSettings),

        .testTarget(name: "TorchRandomTests", dependencies: ["TorchRandom", "TorchRandomAVX512", "Tensors"]),
        .testTarget(name: "TorchInitTests", dependencies: ["TorchInit", "TorchRandom", "Tensors"], resources: [.copy("Fixtures")]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        // A raw HTTP/1.1 client over sockets, shared by the HTTP and service tests.
        .target(name: "HTTPTestSupport", path: "Tests/HTTPTestSupport"),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "HTTPTestSupport"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "Tensors", "JSON"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "MMEngine", "Model", "Program", "JSON", "Tensors", "Checkpoints"], resources: [.copy("Fixtures")]),
        // Starts the real `weightinit` binary on ephemeral ports and talks HTTP to it.
        .testTarget(name: "IntegrationTests", dependencies: ["JSON", "HTTPTestSupport"]),
        .testTarget(name: "ServiceTests", dependencies: ["Service", "JSON", "HTTPServer", "HTTPTestSupport", .product(name: "Logging", package: "swift-log")]),
    ]
)
