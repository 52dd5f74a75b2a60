import Dispatch

/// Parallel generation inside one fill: a large buffer is cut into `workers` contiguous parts; part k starts
/// from a copy of the generator advanced by the draws of the parts before it (sequential twists for short
/// distances, jump-ahead for long ones: `MT19937.skip`), and each part runs the serial kernel. Draws are
/// position-determined, so the bytes and the final generator state (taken from the last part) are those of the
/// serial kernel, at any worker count. Kernels that touch the spare (per-element path) never come here.
public enum ParallelFill {
    /// Threads one fill may use (`--workers`); 1 = serial. Set once at startup.
    nonisolated(unsafe) public static var workers = 1
    /// Below this many elements a fill stays serial (thread hand-off and the skip would not pay).
    nonisolated(unsafe) public static var minElements = 1 << 18

    /// Calls `body(part, generator, isLast)` for the parts of `out` (boundaries multiples of `align`, draws one
    /// per element before the last part), the last part on the calling thread; `g` ends as the last part leaves it.
    @inline(__always)
    static func split<T>(_ out: UnsafeMutableBufferPointer<T>, _ g: inout CPUGenerator, align: Int,
                         _ body: @escaping (UnsafeMutableBufferPointer<T>, inout CPUGenerator, Bool) -> Void) {
        let n = out.count
        let w = min(workers, n / max(minElements, 1))
        guard w > 1, let base = out.baseAddress else { body(out, &g, true); return }
        let units = n / align
        var starts = [Int](repeating: 0, count: w + 1)
        for k in 0...w { starts[k] = units * k / w * align }
        starts[w] = n
        let bounds = starts
        let result = UnsafeMutablePointer<CPUGenerator>.allocate(capacity: 1)
        result.initialize(to: g)
        defer { result.deinitialize(count: 1); result.deallocate() }
        let job = UnsafeSendable(Job(body: body, base: base, bounds: bounds, start: g, result: result))
        DispatchQueue.concurrentPerform(iterations: w) { k in
            let j = job.value
            var pg = j.start
            pg.engine.skip(j.bounds[k])
            let part = UnsafeMutableBufferPointer(start: j.base + j.bounds[k], count: j.bounds[k + 1] - j.bounds[k])
            j.body(part, &pg, k == w - 1)
            if k == w - 1 { j.result.pointee = pg }  // the only writer; read after concurrentPerform returns
        }
        g = result.pointee
    }

    /// Runs `body(range)` over `count` elements cut into `workers` contiguous ranges (elementwise transforms).
    public static func forEachRange(_ count: Int, _ body: @escaping (Range<Int>) -> Void) {
        let w = min(workers, count / max(minElements, 1))
        guard w > 1 else { body(0..<count); return }
        let f = UnsafeSendable(body)
        DispatchQueue.concurrentPerform(iterations: w) { k in f.value((count * k / w)..<(count * (k + 1) / w)) }
    }

    struct Job<T> {
        let body: (UnsafeMutableBufferPointer<T>, inout CPUGenerator, Bool) -> Void
        let base: UnsafeMutablePointer<T>
        let bounds: [Int]
        let start: CPUGenerator
        let result: UnsafeMutablePointer<CPUGenerator>
    }
}

/// Carries a non-Sendable closure into `concurrentPerform` (each part touches only its own memory).
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}
