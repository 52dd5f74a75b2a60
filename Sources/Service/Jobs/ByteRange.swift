import Foundation
import HTTPServer

/// A single `Range: bytes=…` request (RFC 9110 §14): `a-b`, `a-` or `-n`.
enum ByteRangeRequest: Equatable {
    /// No Range, or one the server ignores (not `bytes`, malformed, or several ranges): send it all.
    case whole
    case partial(ClosedRange<UInt64>)
    /// Syntactically fine but outside the representation: 416.
    case unsatisfiable

    static func parse(_ header: String?, size: UInt64) -> ByteRangeRequest {
        guard let header else { return .whole }
        let value = header.trimmingCharacters(in: .whitespaces)
        guard value.lowercased().hasPrefix("bytes=") else { return .whole }
        let spec = value.dropFirst(6).trimmingCharacters(in: .whitespaces)
        // Multiple ranges are allowed to be answered with the whole representation.
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        func number(_ s: String) -> UInt64? { s.isEmpty || !s.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) ? nil : UInt64(s) }
        if first.isEmpty {
            // Suffix: the last n bytes.
            guard let n = number(last) else { return .whole }
            guard n > 0, size > 0 else { return .unsatisfiable }
            return .partial((size - min(n, size))...(size - 1))
        }
        guard let a = number(first) else { return .whole }
        let b: UInt64
        if last.isEmpty { b = size &- 1 } else {
            guard let v = number(last) else { return .whole }
            guard v >= a else { return .whole }   // invalid: ignored
            b = min(v, size &- 1)
        }
        guard a < size else { return .unsatisfiable }
        return .partial(a...b)
    }
}

enum EntityTag {
    /// `If-None-Match` (weak comparison): true when `etag` is listed or the value is `*`.
    static func matches(_ header: String?, _ etag: String) -> Bool {
        guard let header else { return false }
        let opaque = etag.hasPrefix("W/") ? String(etag.dropFirst(2)) : etag
        for part in header.split(separator: ",") {
            let tag = part.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            let o = tag.hasPrefix("W/") ? String(tag.dropFirst(2)) : tag
            if o == opaque { return true }
        }
        return false
    }
}

/// Streams a byte range of a spooled file (pread on the stream producer queue; no CPU worker needed).
final class FileRangeSource: HTTPStreamSource, @unchecked Sendable {
    private let fd: Int32
    private var offset: UInt64
    private let end: UInt64
    private let lock = NSLock()
    private var closed = false

    /// nil when the file cannot be opened.
    init?(path: String, range: ClosedRange<UInt64>?, size: UInt64) {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        offset = range?.lowerBound ?? 0
        end = range.map { $0.upperBound + 1 } ?? size
    }

    var length: UInt64 { end - offset }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let want = Int(min(UInt64(buffer.count), end - offset))
        guard want > 0 else { return 0 }
        while true {
            let n = pread(fd, buffer.baseAddress, want, off_t(offset))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw JobFailure("reading the spooled checkpoint failed") }
            offset += UInt64(n)
            return n
        }
    }

    func streamEnded(_ outcome: HTTPStreamOutcome) { closeOnce() }

    private func closeOnce() {
        let first: Bool = lock.withLock { defer { closed = true }; return !closed }
        if first { close(fd) }
    }

    deinit { closeOnce() }
}
