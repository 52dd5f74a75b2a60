import JSON
import Model
import Tensors
import TorchInit

/// The state of one `init_weights()` run: the model, its timeline, and MMEngine's `_params_init_info`.
public final class InitContext {
    public let root: Module
    public let timeline: Timeline
    let pretrained: PretrainedLoader?
    /// Per parameter tensor: MMEngine's `init_info` string and the content its `tmp_mean_value` was taken from.
    public private(set) var info: [Int: (text: String, recorded: Content)] = [:]
    /// What each Pretrained application loaded, for the report.
    public private(set) var pretrainedResults: [PretrainedResult] = []

    init(root: Module, timeline: Timeline, pretrained: PretrainedLoader?) {
        self.root = root
        self.timeline = timeline
        self.pretrained = pretrained
    }

    /// Step 1 of the top-level `init_weights`: every parameter starts as "the same before and after".
    func startTracking() {
        let text = "The value is the same before and after calling `init_weights` of \(root.className) "
        for t in root.parameterTensors() {
            info[t] = (text, timeline.content[t])
        }
    }

    /// MMEngine's `update_init_info(module, init_info)`.
    func updateInitInfo(_ module: Module, _ text: String) {
        for t in module.parameterTensors() {
            guard let old = info[t] else { continue }
            let now = timeline.content[t]
            if meanChanged(from: old.recorded, to: now, count: timeline.tensors[t].count) {
                info[t] = (text, now)
            }
        }
    }

    func record(_ fill: TensorFill, on tensor: Int, origin: Int) {
        timeline.record(.fill(fill), on: tensor, origin: origin)
    }

    func origin(_ initializer: String, _ arguments: JSONObject, phase: String, at pointer: JSONPointer) -> Int {
        timeline.addOrigin(Origin(initializer: initializer, arguments: arguments, phase: phase, pointer: pointer))
    }

    func addPretrainedResult(_ r: PretrainedResult) { pretrainedResults.append(r) }
}
