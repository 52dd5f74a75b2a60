import Foundation

extension NSLock {
    /// `withLock` that works the same on every Foundation this builds against.
    @inline(__always)
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
