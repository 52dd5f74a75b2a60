import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where `weightinit init` writes. A regular file (or a new path) is written beside itself as `NAME.partial` and
/// renamed over the path once complete, so a failed run never leaves a truncated checkpoint under the real name.
/// Anything else is written in place: `-` (standard output), a device such as `/dev/null`, a FIFO, or a symlink
/// such as `/dev/stdout` — replacing those by a renamed file would destroy them (and as root, `/dev/null` itself).
struct OutputTarget {
    let handle: FileHandle
    private let partial: String?
    private let path: String

    init(path: String) throws {
        self.path = path
        if path == "-" {
            // As curl does: a checkpoint is binary, and hundreds of MB of it would wreck the terminal.
            guard isatty(STDOUT_FILENO) == 0 else {
                throw CLIError("standard output is a terminal: redirect it (-o - > FILE, or | CONSUMER) or name a file with -o")
            }
            handle = .standardOutput
            partial = nil
            return
        }
        var info = stat()
        let exists = lstat(path, &info) == 0
        if exists && (info.st_mode & S_IFMT) == S_IFDIR { throw CLIError("\(path) is a directory") }
        let direct = exists && (info.st_mode & S_IFMT) != S_IFREG
        let name = direct ? path : path + ".partial"
        // O_TRUNC is ignored by devices and FIFOs and empties a regular file a symlink points to.
        let fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CLIError("cannot write \(path): \(String(cString: strerror(errno)))") }
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        partial = direct ? nil : name
    }

    /// Closes the output and, for a regular file, moves it into place (rename(2) replaces an old file atomically).
    func commit() throws {
        guard let partial else {
            if handle !== FileHandle.standardOutput { try handle.close() }
            return
        }
        try handle.close()
        guard rename(partial, path) == 0 else {
            throw CLIError("cannot rename \(partial) to \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// After a failure: the partial file goes; an existing checkpoint under the real name stays untouched.
    func abandon() {
        guard let partial else { return }
        try? handle.close()
        unlink(partial)
    }
}
