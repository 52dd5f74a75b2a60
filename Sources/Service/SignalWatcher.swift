import Dispatch
import Foundation

/// Turns SIGTERM/SIGINT into callbacks on a Dispatch queue (signal handlers themselves may do
/// almost nothing safely). The default action is ignored while the watcher lives, restored after.
final class SignalWatcher: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let signals: [Int32]
    private let lock = NSLock()
    private var count = 0

    init(signals: [Int32], handler: @escaping @Sendable (Int32, Int) -> Void) {
        self.signals = signals
        let queue = DispatchQueue(label: "weightinit.signals")
        for sig in signals {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { [weak self] in
                guard let self else { return }
                let n = self.lock.withLock { self.count += 1; return self.count }
                handler(sig, n)
            }
            source.resume()
            sources.append(source)
        }
    }

    func cancel() {
        sources.forEach { $0.cancel() }
        sources = []
        signals.forEach { signal($0, SIG_DFL) }
    }
}
