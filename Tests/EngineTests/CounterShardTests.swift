import Checkpoints
import Dispatch
import Engine
import Foundation
import JSON
import XCTest

/// `"rng": "counter"` and `"shard"`: shards equal `torch.tensor_split` slices of the full tensors (both rng modes, both
/// formats, many shapes, dims and counts); counter-mode values depend only on (seed, name, index).
final class CounterShardTests: XCTestCase {
    private func with(_ body: JSONValue, _ fields: [String: JSONValue]) -> JSONValue {
        guard case .object(var o) = body else { return body }
        for (k, v) in fields { o[k] = v }
        return .object(o)
    }

    private func shard(_ dim: Int, _ index: Int, _ count: Int) -> JSONValue {
        ["dim": .int(Int64(dim)), "index": .int(Int64(index)), "count": .int(Int64(count))]
    }

    /// `torch.tensor_split(t, count, dim)[index]` of row-major bytes; nil when `t` has no dimension `dim`.
    static func split(_ bytes: [UInt8], shape: [Int], elementSize: Int, dim: Int, index: Int, count: Int) -> [UInt8]? {
        let d = dim < 0 ? dim + shape.count : dim
        guard d >= 0 && d < shape.count else { return nil }
        let size = shape[d], base = size / count, extra = size % count
        let lo = index * base + min(index, extra), hi = lo + base + (index < extra ? 1 : 0)
        let inner = shape[(d + 1)...].reduce(1, *) * elementSize
        let outer = shape[..<d].reduce(1, *)
        var out: [UInt8] = []
        for o in 0..<outer {
            let row = o * size * inner
            out.append(contentsOf: bytes[(row + lo * inner)..<(row + hi * inner)])
        }
        return out
    }

    /// Tensor name → (shape, bytes) of a checkpoint in either format.
    static func tensors(_ bytes: [UInt8], format: String) throws -> [(String, [Int], Int, [UInt8])] {
        if format == "safetensors" {
            let f = try SafetensorsFile(bytes: bytes)
            return f.names.map { n in
                let t = f.tensors[n]!
                return (n, t.shape, t.shape.reduce(1, *) == 0 ? 1 : t.bytes.count / t.shape.reduce(1, *), t.bytes)
            }
        }
        let c = try CheckpointReader.load(bytes: bytes)
        return try c.stateDict.map { e in (e.key, e.tensor.shape, e.tensor.dtype.byteSize, try c.readBytes(e.tensor)) }
    }

    private func bodies() throws -> [(String, JSONValue, EngineOptions)] {
        var out: [(String, JSONValue, EngineOptions)] = []
        for dir in GoldenCaseTests.caseDirectories() {
            let golden = GoldenCase(directory: dir)
            guard let (spec, options) = try golden.acceptedSpec() else { continue }
            out.append((dir.lastPathComponent, spec, options))
        }
        let programs = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/programs")
        for name in (try FileManager.default.contentsOfDirectory(atPath: programs.path)).sorted() where name.hasSuffix(".json") {
            let v = try JSONCodec.parse([UInt8](Data(contentsOf: programs.appendingPathComponent(name))))
            if let request = v.objectValue?["request"] { out.append((name, request, EngineOptions())) }
        }
        return out
    }

    private func drain(_ body: JSONValue, _ options: EngineOptions, chunkBytes: Int = 1 << 20) throws -> [UInt8] {
        let job = try Engine.prepare(body, options: options)
        let bytes = try EngineTests.drain(job, chunkBytes: chunkBytes)
        XCTAssertEqual(UInt64(bytes.count), job.contentLength)
        return bytes
    }

    func testShardsAreSlicesOfTheFullTensors() throws {
        let shards: [(Int, Int, Int)] = [(0, 0, 2), (0, 1, 2), (0, 2, 3), (1, 0, 2), (1, 1, 3), (-1, 0, 3), (-1, 2, 3), (2, 1, 2), (0, 4, 5), (0, 6, 7)]
        var checked = 0, sliced = 0
        for (label, body, options) in try bodies() {
            for rng in ["torch", "counter"] {
                for format in ["safetensors", "pytorch"] {
                    let base = with(body, ["rng": .string(rng), "format": .string(format)])
                    let full: [(String, [Int], Int, [UInt8])]
                    do { full = try Self.tensors(try drain(base, options), format: format) } catch let e as SpecError {
                        XCTFail("\(label) \(rng): \(e)"); continue
                    }
                    for (i, (dim, index, count)) in shards.enumerated() where format == "safetensors" ? i % 3 != 2 : i % 4 == 0 {
                        // Small chunks, so that shards straddle chunk and 16-element normal block boundaries.
                        let part = try Self.tensors(try drain(with(base, ["shard": shard(dim, index, count)]), options, chunkBytes: 200),
                                                    format: format)
                        XCTAssertEqual(part.map(\.0), full.map(\.0), label)
                        for ((name, shape, size, bytes), (_, pshape, _, pbytes)) in zip(full, part) {
                            let want = Self.split(bytes, shape: shape, elementSize: size, dim: dim, index: index, count: count)
                            XCTAssertEqual(pbytes, want ?? bytes, "\(label) \(rng) \(format) \(name) \(shape) shard \(dim),\(index),\(count)")
                            if want != nil { sliced += 1; XCTAssertEqual(pshape.reduce(1, *) * size, pbytes.count) }
                            checked += 1
                        }
                    }
                }
            }
        }
        XCTAssertGreaterThan(sliced, 1000)
        XCTAssertGreaterThan(checked, sliced)
    }

    private let net: JSONValue = ["seed": 5, "rng": "counter", "model": ["type": "Net",
        "init_cfg": [["type": "Kaiming", "layer": "Conv2d"], ["type": "TruncNormal", "layer": "Linear", "std": 0.02]],
        "children": [
            "a": ["type": "Linear", "in_features": 40, "out_features": 33],
            "b": ["type": "Conv2d", "in_channels": 3, "out_channels": 17, "kernel_size": 3],
            "c": ["type": "Embedding", "num_embeddings": 50, "embedding_dim": 7, "padding_idx": 2],
            "d": ["type": "LSTM", "input_size": 5, "hidden_size": 6],
            "e": ["type": "BatchNorm1d", "num_features": 4]]]]

    private func children(_ order: [String], extra: [String: JSONValue] = [:]) -> JSONValue {
        guard case .object(var o) = net, case .object(var m)? = o["model"], case .object(let ch)? = m["children"] else { return net }
        var out = JSONObject()
        for k in order { out[k] = ch[k] ?? extra[k]! }
        m["children"] = .object(out)
        o["model"] = .object(m)
        return .object(o)
    }

    private func byName(_ body: JSONValue, chunkBytes: Int = 1 << 20) throws -> [String: [UInt8]] {
        let f = try SafetensorsFile(bytes: try drain(body, EngineOptions(), chunkBytes: chunkBytes))
        return f.tensors.mapValues(\.bytes)
    }

    func testCounterValuesDependOnlyOnSeedNameAndIndex() throws {
        let base = try byName(children(["a", "b", "c", "d", "e"]))
        // Reordered, and with modules removed and added: every common name keeps its values.
        let reordered = try byName(children(["e", "d", "c", "b", "a"]))
        XCTAssertEqual(reordered, base)
        let extra: [String: JSONValue] = ["z": ["type": "Linear", "in_features": 100, "out_features": 100]]
        let changed = try byName(children(["z", "c", "a", "e"], extra: extra))
        for name in ["a.weight", "a.bias", "c.weight", "e.weight"] { XCTAssertEqual(changed[name], base[name], name) }
        XCTAssertNotEqual(changed["z.weight"], nil)
        // Any chunk size.
        XCTAssertEqual(try byName(children(["a", "b", "c", "d", "e"]), chunkBytes: 100), base)
        // include gives the same values.
        XCTAssertEqual(try byName(with(children(["a", "b", "c", "d", "e"]), ["include": ["b.*", "d.*"]])).count, 6)
        // Different names, different values; torch mode differs.
        XCTAssertNotEqual(base["d.weight_ih_l0"], base["d.weight_hh_l0"]?.prefix(base["d.weight_ih_l0"]!.count).map { $0 })
        let torch = try byName(with(children(["a", "b", "c", "d", "e"]), ["rng": "torch"]))
        XCTAssertNotEqual(torch["a.weight"], base["a.weight"])
        // The padding row is zeroed, constants are constants.
        let c = base["c.weight"]!
        XCTAssert(c[(2 * 7 * 4)..<(3 * 7 * 4)].allSatisfy { $0 == 0 })
        XCTAssertEqual(base["e.weight"], [UInt8](repeating: 0, count: 16).enumerated().map { [0, 0, 0x80, 0x3f][$0.offset % 4] })
        let job = try Engine.prepare(children(["a"]))
        XCTAssertEqual(job.report.objectValue?["rng"], "counter")
    }

    /// Shards computed concurrently on several threads (one stream each) assemble into the full tensors, for any
    /// thread count: nothing depends on which thread or chunk produced what.
    func testCounterShardsOnManyThreadsAssembleToTheWhole() throws {
        let body = children(["a", "b", "c", "d", "e"])
        let file = try SafetensorsFile(bytes: try drain(body, EngineOptions()))
        // Scalars (num_batches_tracked) have no dim 0: every shard carries them whole.
        let full = file.tensors.filter { !$0.value.shape.isEmpty }.mapValues(\.bytes)
        for threads in [1, 2, 3, 8] {
            let jobs = try (0..<threads).map { i in try Engine.prepare(with(body, ["shard": shard(0, i, threads)])) }
            let parts = Parts(threads)
            DispatchQueue.concurrentPerform(iterations: threads) { i in
                let bytes = try! GoldenCase(directory: URL(fileURLWithPath: "/")).drain(jobs[i], chunkBytes: 64 + i * 40)
                parts.set(i, try! SafetensorsFile(bytes: bytes).tensors.mapValues(\.bytes))
            }
            for (name, bytes) in full {
                XCTAssertEqual(parts.all.flatMap { $0[name] ?? [] }, bytes, "\(name) threads=\(threads)")
            }
        }
    }

    func testBadShards() {
        for (shard, pointer) in [(JSONValue.int(1), "/shard"), (["dim": 0, "index": 2, "count": 2], "/shard/index"),
                                 (["dim": 0, "index": 0, "count": 0], "/shard/count"), (["dim": 0, "index": 0], "/shard/count"),
                                 (["dim": 99, "index": 0, "count": 1], "/shard/dim"), (["dim": 0, "index": 0, "count": 1, "x": 1], "/shard/x")] {
            XCTAssertThrowsError(try Engine.prepare(with(net, ["shard": shard]))) { e in
                XCTAssertEqual((e as? SpecError)?.pointer.description, pointer)
            }
        }
        XCTAssertThrowsError(try Engine.prepare(with(net, ["rng": "philox"]))) { e in
            XCTAssertEqual((e as? SpecError)?.pointer.description, "/rng")
        }
    }

    func testShardReportAndContentLength() throws {
        let job = try Engine.prepare(with(children(["a", "b"]), ["shard": shard(1, 1, 3)]))
        let tensors = job.report.objectValue!["tensors"]!.arrayValue!
        XCTAssertEqual(tensors[0].objectValue?["shape"], [33, 13])  // 40 = 14 + 13 + 13
        XCTAssertEqual(tensors[1].objectValue?["shard"]?.objectValue?["replicated"], true)  // a.bias has no dim 1
        XCTAssertEqual(tensors[2].objectValue?["shape"], [17, 1, 3, 3])
        XCTAssertEqual(job.report.objectValue?["shard"], shard(1, 1, 3))
    }
}

private final class Parts: @unchecked Sendable {
    private let lock = NSLock()
    private var parts: [[String: [UInt8]]]
    init(_ n: Int) { parts = Array(repeating: [:], count: n) }
    func set(_ i: Int, _ p: [String: [UInt8]]) { lock.lock(); parts[i] = p; lock.unlock() }
    var all: [[String: [UInt8]]] { lock.lock(); defer { lock.unlock() }; return parts }
}
