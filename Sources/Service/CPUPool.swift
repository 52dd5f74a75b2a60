import Dispatch
import Foundation

/// Runs work items at most `limit` at a time, in submission order, without parking threads:
/// a finished item starts the next one.
final class CPUPool: @unchecked Sendable {
    let limit: Int
    private let lock = NSLock()
    private var active = 0
    private var pending: [@Sendable () -> Void] = []
    private var head = 0
    private let executor = DispatchQueue(label: "weightinit.cpu", qos: .userInitiated, attributes: .concurrent)

    init(limit: Int) { self.limit = max(1, limit) }

    func run(_ work: @escaping @Sendable () -> Void) {
        let start: Bool = lock.withLock {
            if active < limit {
                active += 1
                return true
            }
            pending.append(work)
            return false
        }
        if start { launch(work) }
    }

    private func launch(_ work: @escaping @Sendable () -> Void) {
        executor.async {
            work()
            self.finished()
        }
    }

    private func finished() {
        let next: (@Sendable () -> Void)? = lock.withLock {
            guard head < pending.count else {
                active -= 1
                pending.removeAll(keepingCapacity: true)
                head = 0
                return nil
            }
            let w = pending[head]
            head += 1
            return w
        }
        if let next { launch(next) }
    }
}
