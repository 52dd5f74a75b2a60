// swift-tools-version:6.0
// libFuzzer harnesses for the parsers that read untrusted bytes (scripts/fuzz.sh builds and runs them).
// A package of its own: every target is compiled with -sanitize=fuzzer,address, which a normal build must not be.
// Sources/* are symlinks to the main package's targets, so the code fuzzed is the code shipped.
import PackageDescription

let kernel: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]

let package = Package(
    name: "weightinit-fuzz",
    targets: [
        .systemLibrary(name: "CJansson", pkgConfig: "jansson"),
        .target(name: "JSON", dependencies: ["CJansson"]),
        .target(name: "Tensors", swiftSettings: kernel),
        .target(name: "TorchRandom", dependencies: ["Tensors"], swiftSettings: kernel),
        .target(name: "TorchInit", dependencies: ["Tensors", "TorchRandom"], swiftSettings: kernel),
        .target(name: "Model", dependencies: ["JSON", "Tensors", "TorchInit"]),
        .target(name: "Program", dependencies: ["JSON", "Tensors", "TorchInit", "Model"]),
        .target(name: "Checkpoints", dependencies: ["Tensors", "JSON"], linkerSettings: [.linkedLibrary("z")]),
        .target(name: "MMEngine", dependencies: ["JSON", "Tensors", "TorchInit", "Model", "Checkpoints"]),
        .target(name: "Engine", dependencies: ["JSON", "Tensors", "TorchRandom", "TorchInit", "Model", "Program", "MMEngine", "Checkpoints"]),
        // The request body: JSON parse (depth-bounded, as the service does), then the whole spec → plan path.
        .executableTarget(name: "FuzzJSONSpec", dependencies: ["JSON", "Engine"], path: "Harness/FuzzJSONSpec",
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // Traced programs: JSON → program parse and validation → compile → plan → (small jobs) the replayed stream.
        .executableTarget(name: "FuzzProgram", dependencies: ["JSON", "Engine"], path: "Harness/FuzzProgram",
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // Checkpoint files: format detection, safetensors header, zip directory, torch pickle, legacy pickle.
        .executableTarget(name: "FuzzCheckpoint", dependencies: ["Checkpoints"], path: "Harness/FuzzCheckpoint",
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // The pickle reader alone: the input becomes data.pkl of an otherwise valid torch zip.
        .executableTarget(name: "FuzzPickle", dependencies: ["Checkpoints"], path: "Harness/FuzzPickle",
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ]
)
