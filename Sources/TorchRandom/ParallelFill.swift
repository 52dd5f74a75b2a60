#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// Parallel generation inside one fill: a large buffer is cut into parts of about `partElements`; `workers`
/// threads take parts in order, as they become free (a thread slowed by other load just takes fewer parts).
/// Part k starts from the generator state after the draws of parts 0..<k: the thread that takes part k finds
/// that state published, twists through part k's words (recording them in part k's memory), publishes the state
/// it reached as part k+1's, and then turns the recorded words into part k's values. Draws are
/// position-determined, so the bytes and the final generator state (the last part's) are the serial kernel's at
/// any worker count and part size. Kernels that touch the spare (per-element path) never come here.
public enum ParallelFill {
    /// Threads one fill may use (`--workers`); 1 = serial. Set once at startup.
    nonisolated(unsafe) public static var workers = 1
    /// Below this many elements a fill stays serial (thread hand-off and the skip would not pay).
    nonisolated(unsafe) public static var minElements = 1 << 18
    /// Elements per part (rounded to the kernel's alignment); at most `minElements / 2`.
    nonisolated(unsafe) public static var partElements = 1 << 17

    /// Fills `out` with a float32 kernel that draws one 32-bit word per element, in consecutive parts (boundaries
    /// multiples of `align`). Every part but the last is handed to `words` holding its own untempered words (one per
    /// element, in the part's memory), recorded while its thread advanced to the next part's start
    /// (`MT19937.captureWords`), so no word is twisted twice. The last part, with the kernel's tail, goes to `last`
    /// with its generator; `g` ends as `last` leaves it.
    static func split(_ out: UnsafeMutableBufferPointer<Float>, _ g: inout CPUGenerator, align: Int,
                      words: @escaping (UnsafeMutableBufferPointer<Float>) -> Void,
                      last: @escaping (UnsafeMutableBufferPointer<Float>, inout CPUGenerator) -> Void) {
        let n = out.count
        guard workers > 1, n >= max(minElements, 2 * align), let base = out.baseAddress else { last(out, &g); return }
        // Parts of about `partElements`, in whole rounds of `workers` so no thread is left idle while another fills
        // a double-length last part (a 2 MiB piece used to split 1 + 1 + 2).
        let target = max(align, min(partElements, max(minElements / 2, 1)))
        let rounds = max(1, (n / target + workers - 1) / workers)
        let parts = min(rounds * workers, n / align)
        let size = n / parts / align * align  // the last part takes the remainder (under `parts · align` more)
        let threads = min(workers, parts)
        let chain = PartChain(parts: parts, first: g)
        defer { chain.release() }
        let capture = CPUKernels.active.captureWords
        let job = UnsafeSendable(Job(words: words, last: last, base: base, count: n, size: size, parts: parts, chain: chain))
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            let j = job.value
            while let k = j.chain.take() {
                var pg = j.chain.state(k)
                let lo = k * j.size, hi = k == j.parts - 1 ? j.count : lo + j.size
                let part = UnsafeMutableBufferPointer(start: j.base + lo, count: hi - lo)
                if k + 1 < j.parts {
                    capture(&pg.engine, UnsafeMutableRawPointer(j.base + lo), hi - lo)
                    j.chain.publish(k + 1, pg)
                    j.words(part)
                } else {
                    j.last(part, &pg)
                    j.chain.finish(pg)
                }
            }
        }
        g = chain.result
    }

    /// Runs `body(range)` over `count` elements cut into `workers` contiguous ranges (elementwise transforms).
    public static func forEachRange(_ count: Int, _ body: @escaping (Range<Int>) -> Void) {
        let w = min(workers, count / max(minElements, 1))
        guard w > 1 else { body(0..<count); return }
        let f = UnsafeSendable(body)
        DispatchQueue.concurrentPerform(iterations: w) { k in f.value((count * k / w)..<(count * (k + 1) / w)) }
    }

    struct Job {
        let words: (UnsafeMutableBufferPointer<Float>) -> Void
        let last: (UnsafeMutableBufferPointer<Float>, inout CPUGenerator) -> Void
        let base: UnsafeMutablePointer<Float>
        let count: Int, size: Int, parts: Int
        let chain: PartChain
    }
}

/// Carries a non-Sendable closure into `concurrentPerform` (each part touches only its own memory).
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}

/// The parts' start states, published in order, and the next part to take (one mutex, one condition).
final class PartChain: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private let states: UnsafeMutablePointer<CPUGenerator>
    private var published: Int      // states[0..<published] are set
    private var next = 0
    private let parts: Int
    private(set) var result: CPUGenerator

    init(parts: Int, first: CPUGenerator) {
        self.parts = parts
        states = .allocate(capacity: parts)
        states.initialize(repeating: first, count: parts)
        published = 1
        result = first
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
    }

    func release() {
        states.deinitialize(count: parts)
        states.deallocate()
        pthread_cond_destroy(&cond)
        pthread_mutex_destroy(&mutex)
    }

    /// The next part to fill, nil when all are taken.
    func take() -> Int? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        guard next < parts else { return nil }
        next += 1
        return next - 1
    }

    /// Part k's start state (waits until it is published).
    func state(_ k: Int) -> CPUGenerator {
        pthread_mutex_lock(&mutex)
        while published <= k { pthread_cond_wait(&cond, &mutex) }
        let s = states[k]
        pthread_mutex_unlock(&mutex)
        return s
    }

    func publish(_ k: Int, _ s: CPUGenerator) {
        pthread_mutex_lock(&mutex)
        states[k] = s
        published = k + 1
        pthread_cond_broadcast(&cond)
        pthread_mutex_unlock(&mutex)
    }

    func finish(_ s: CPUGenerator) {
        pthread_mutex_lock(&mutex)
        result = s
        pthread_mutex_unlock(&mutex)
    }
}
