import Dispatch
import Foundation

/// The live streams of one server: polled by the disconnect watchdog, cancelled at shutdown.
final class StreamRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var streams: [ObjectIdentifier: StreamState] = [:]
    private var timer: DispatchSourceTimer?
    /// Once set, new streams start out cancelled so nothing can park after shutdown began.
    private(set) var closing = false

    func add(_ stream: StreamState) {
        lock.locked { streams[ObjectIdentifier(stream)] = stream }
    }

    func remove(_ stream: StreamState) {
        _ = lock.locked { streams.removeValue(forKey: ObjectIdentifier(stream)) }
    }

    var count: Int { lock.locked { streams.count } }

    private var snapshot: [StreamState] { lock.locked { Array(streams.values) } }

    /// Starts polling suspended streams for vanished peers every `interval` seconds.
    func startWatchdog(interval: Double) {
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "httpserver.watchdog"))
        t.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(20))
        t.setEventHandler { [weak self] in
            self?.snapshot.forEach { $0.checkPeer() }
        }
        t.resume()
        lock.locked { timer = t }
    }

    func stopWatchdog() {
        lock.locked { timer?.cancel(); timer = nil }
    }

    /// Cancels every stream (resuming the suspended ones) and refuses new ones.
    func cancelAll() {
        lock.locked { closing = true }
        snapshot.forEach { $0.cancelForShutdown() }
    }

    /// Streams MHD still holds suspended (MHD_stop_daemon would abort the process).
    var parkedCount: Int { snapshot.filter(\.isParked).count }
}
