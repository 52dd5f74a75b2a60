#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import JSON

/// `"include": ["glob", ...]`: only the state-dict entries whose names match one of the globs (shell-style, as
/// Python's `fnmatch`: `*` and `?` match dots too, `[...]` sets), in state-dict order, with the values of the
/// full run. Each glob must match something, so a typo is an error rather than an empty checkpoint.
public struct IncludeFilter: Sendable {
    public static let maxGlobs = 100_000
    public let globs: [String]

    public init(_ value: JSONValue, at pointer: JSONPointer) throws(SpecError) {
        guard case .array(let items) = value, !items.isEmpty else {
            throw SpecError(.invalid, at: pointer, "include must be a non-empty array of state-dict name globs, got \(value.typeName)")
        }
        guard items.count <= IncludeFilter.maxGlobs else {
            throw SpecError(.limit, at: pointer, "include has \(items.count) globs, over the limit of \(IncludeFilter.maxGlobs)")
        }
        var globs: [String] = []
        for (i, item) in items.enumerated() {
            guard let s = item.stringValue, !s.isEmpty, !s.utf8.contains(0) else {
                throw SpecError(.invalid, at: pointer / i, "each include glob must be a non-empty string, got \(item.typeName)")
            }
            globs.append(s)
        }
        self.globs = globs
    }

    public func matches(_ name: String, glob: String) -> Bool {
        fnmatch(glob, name, 0) == 0
    }

    /// The indices of `names` that are included; throws for a glob that matches no name.
    func select(_ names: [String], at pointer: JSONPointer) throws(SpecError) -> [Int] {
        var used = [Bool](repeating: false, count: globs.count)
        var kept: [Int] = []
        for (i, name) in names.enumerated() {
            var hit = false
            for (g, glob) in globs.enumerated() where matches(name, glob: glob) {
                used[g] = true
                hit = true
            }
            if hit { kept.append(i) }
        }
        if let g = used.firstIndex(of: false) {
            throw SpecError(.rejected, at: pointer / g, "include glob '\(globs[g])' matches no state-dict entry")
        }
        return kept
    }
}
