import JSON
import MMEngine
import Model
import Tensors

/// The init report (SPEC.md §5): per tensor what it is, where its bytes are and what initialized it.
public enum InitReport {
    public static let version = "0.1.0"
    public static let reference: JSONObject = ["torch": "2.15", "mmengine": "0.10.7", "device": "cpu (x86-64, AVX2 kernels)"]

    /// `ranges`: each tensor's absolute byte range in the checkpoint file (nil for /plan without a format layout).
    public static func make(_ plan: Plan, ranges: [Range<UInt64>]?, totalBytes: UInt64?) -> JSONValue {
        let timeline = plan.timeline
        var tensors: [JSONValue] = []
        tensors.reserveCapacity(plan.tensors.count)
        for (i, t) in plan.tensors.enumerated() {
            var o: JSONObject = [
                "name": .string(t.record.name),
                "kind": .string(t.record.kind.rawValue),
                "shape": .array(t.outputShape.map { .int(Int64($0)) }),
                "dtype": .string(t.outputDType.rawValue),
            ]
            if plan.request.shard != nil {
                if let s = t.shard {
                    o["shard"] = ["full_shape": .array(t.record.shape.map { .int(Int64($0)) }), "dim": .int(Int64(s.dim)),
                                  "range": [.int(Int64(s.range.lowerBound)), .int(Int64(s.range.upperBound))]]
                } else {
                    o["shard"] = ["full_shape": .array(t.record.shape.map { .int(Int64($0)) }), "replicated": true]
                }
            }
            if let ranges {
                o["byte_range"] = [.int(Int64(ranges[i].lowerBound)), .int(Int64(ranges[i].upperBound))]
            }
            o["init_info"] = t.initInfo.map { .string($0) } ?? .null
            o["initialized_by"] = .array(timeline.writes[t.tensor].map { op in
                let origin = timeline.origins[timeline.ops[op].origin]
                var h: JSONObject = [
                    "initializer": .string(origin.initializer),
                    "arguments": .object(origin.arguments),
                    "phase": .string(origin.phase),
                    "pointer": .string(origin.pointer.description),
                ]
                if let site = origin.site { h["site"] = .string(site) }
                if let module = origin.module { h["module"] = .string(module) }
                if let base = t.baseOp, op < base { h["overwritten"] = true }
                return .object(h)
            })
            tensors.append(.object(o))
        }
        var report: JSONObject = [
            "service": .string("weightinit \(version)"),
            "reference": .object(reference),
            "model": .string(plan.root.className),
            "seed": .int(plan.request.seed),
            "seed_source": .string(plan.request.seedWasGiven ? "request" : "generated"),
            "dtype": .string(plan.request.dtype.rawValue),
            "format": .string(plan.request.format.rawValue),
        ]
        // Absent: the default torch stream (so reports of requests without the field are unchanged).
        if plan.request.rngWasGiven || plan.request.rng != .torch { report["rng"] = .string(plan.request.rng.rawValue) }
        if let s = plan.request.shard {
            report["shard"] = ["dim": .int(Int64(s.dim)), "index": .int(Int64(s.index)), "count": .int(Int64(s.count))]
        }
        if let totalBytes { report["total_bytes"] = .int(Int64(totalBytes)) }
        report["tensor_count"] = .int(Int64(plan.tensors.count))
        report["parameter_count"] = .int(Int64(plan.tensors.filter { $0.record.kind == .parameter }.reduce(0) { $0 + $1.outputCount }))
        report["tensors"] = .array(tensors)
        report["pretrained"] = .array(plan.pretrained.map { r in
            .object([
                "checkpoint": .string(r.checkpoint),
                "prefix": r.prefix.map { .string($0) } ?? .null,
                "module": .string(r.module),
                "pointer": .string(r.pointer.description),
                "loaded": .array(r.loaded.map { .string($0) }),
                "missing": .array(r.missing.map { .string($0) }),
                "unexpected": .array(r.unexpected.map { .string($0) }),
                "size_mismatch": .array(r.mismatched.map { .string($0) }),
            ])
        })
        return .object(report)
    }
}
