import Dispatch
import Foundation

/// Bounded admission for initialization jobs: at most `workers` stream at once, at most `depth` more wait.
///
/// A job is admitted when its request is accepted (before the 200 is sent), waits for a
/// stream slot when its stream first needs data, and keeps the slot until its stream ends
/// (finished, client gone, or shutdown). Its production steps run on the shared `CPUPool`, so
/// a slow reader holds its slot (memory) but no CPU, and never blocks other jobs.
final class JobQueue: @unchecked Sendable {
    /// Stream slots.
    let workers: Int
    let depth: Int
    var capacity: Int { workers + depth }
    private let cpu: CPUPool

    private let lock = NSLock()
    private var admitted = 0
    private var running = 0
    private var waiting: [JobTicket] = []
    private var saturatedLatch = false
    /// Reports (running, queued) after every change.
    private let onChange: @Sendable (Int, Int) -> Void

    init(workers: Int, depth: Int, cpuWorkers: Int? = nil, onChange: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) {
        self.workers = max(1, workers)
        self.depth = max(0, depth)
        self.cpu = CPUPool(limit: max(1, cpuWorkers ?? workers))
        self.onChange = onChange
    }

    var runningCount: Int { lock.withLock { running } }
    var queuedCount: Int { lock.withLock { admitted - running } }
    var admittedCount: Int { lock.withLock { admitted } }

    /// Not ready once full; ready again only when a quarter of the capacity is free (at least
    /// one slot), so readiness does not flap at the edge.
    var isSaturated: Bool {
        lock.withLock {
            if admitted >= capacity { saturatedLatch = true }
            else if admitted <= capacity - max(1, capacity / 4) { saturatedLatch = false }
            return saturatedLatch
        }
    }

    /// A place in the queue, or nil when it is full (→ 503).
    func tryAdmit() -> JobTicket? {
        let ticket: JobTicket? = lock.withLock {
            guard admitted < capacity else { return nil }
            admitted += 1
            return JobTicket(queue: self)
        }
        if ticket != nil { notify() }
        return ticket
    }

    // MARK: Ticket transitions (called by JobTicket)

    fileprivate func submit(_ ticket: JobTicket, _ work: @escaping @Sendable () -> Void) {
        var started = false
        lock.withLock {
            switch ticket.state {
            case .admitted:
                if running < workers {
                    running += 1
                    ticket.state = .running
                    started = true
                    cpu.run(work)
                } else {
                    ticket.state = .waiting(work)
                    waiting.append(ticket)
                }
            case .waiting:
                ticket.state = .waiting(work)
            case .running:
                cpu.run(work)
            case .released:
                break
            }
        }
        if started { ticket.markStarted(); notify() }
    }

    fileprivate func release(_ ticket: JobTicket) {
        var next: JobTicket?
        let changed: Bool = lock.withLock {
            switch ticket.state {
            case .released:
                return false
            case .running:
                running -= 1
            case .waiting:
                waiting.removeAll { $0 === ticket }
            case .admitted:
                break
            }
            ticket.state = .released
            admitted -= 1
            // Hand the freed worker to the oldest waiting job.
            if running < workers, !waiting.isEmpty {
                let t = waiting.removeFirst()
                if case .waiting(let work) = t.state {
                    running += 1
                    t.state = .running
                    cpu.run(work)
                    next = t
                }
            }
            return true
        }
        next?.markStarted()
        if changed { notify() }
    }

    private func notify() {
        let (r, q) = lock.withLock { (running, admitted - running) }
        onChange(r, q)
    }
}

/// One admitted job's place in the `JobQueue`.
final class JobTicket: @unchecked Sendable {
    enum State {
        case admitted
        case waiting(@Sendable () -> Void)
        case running
        case released
    }

    private let queue: JobQueue   // no cycle: the queue holds a ticket only while it waits
    /// Guarded by the queue's lock.
    fileprivate var state: State = .admitted
    private let startLock = NSLock()
    private var startedAt: UInt64?

    fileprivate init(queue: JobQueue) { self.queue = queue }

    /// Runs a production step now if this job has a worker, else when it gets one.
    func submit(_ work: @escaping @Sendable () -> Void) { queue.submit(self, work) }

    /// Gives the worker (or the queue place) back. Idempotent.
    func release() { queue.release(self) }

    fileprivate func markStarted() {
        startLock.withLock { if startedAt == nil { startedAt = DispatchTime.now().uptimeNanoseconds } }
    }

    /// Seconds since the job got its worker; nil if it never ran.
    var runSeconds: Double? {
        startLock.withLock { startedAt.map { Double(DispatchTime.now().uptimeNanoseconds - $0) / 1e9 } }
    }
}
