/// Header fields in order, looked up case-insensitively (RFC 9110 field names).
public struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var entries: [(name: String, value: String)]

    public init(_ entries: [(name: String, value: String)] = []) { self.entries = entries }

    public init(dictionaryLiteral elements: (String, String)...) {
        entries = elements.map { (name: $0.0, value: $0.1) }
    }

    /// First value for `name`; setting replaces every value of that name.
    public subscript(name: String) -> String? {
        get { entries.first(where: { $0.name.lowercased() == name.lowercased() })?.value }
        set {
            entries.removeAll { $0.name.lowercased() == name.lowercased() }
            if let newValue { entries.append((name: name, value: newValue)) }
        }
    }

    public mutating func add(_ name: String, _ value: String) { entries.append((name: name, value: value)) }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { entries.makeIterator() }
}
