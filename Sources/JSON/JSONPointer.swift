/// An RFC 6901 JSON pointer ("/model/children/conv/kernel_size"): where in a request a problem is.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    public private(set) var tokens: [String]

    public init(_ tokens: [String] = []) { self.tokens = tokens }

    public static let root = JSONPointer()

    public func appending(_ token: String) -> JSONPointer {
        var copy = self
        copy.tokens.append(token)
        return copy
    }

    public func appending(_ index: Int) -> JSONPointer { appending(String(index)) }

    public static func / (lhs: JSONPointer, rhs: String) -> JSONPointer { lhs.appending(rhs) }
    public static func / (lhs: JSONPointer, rhs: Int) -> JSONPointer { lhs.appending(rhs) }

    public var description: String {
        var out = ""
        for token in tokens {
            out.append("/")
            // Reports print one pointer per tensor: most tokens need no escaping, so check the bytes first.
            guard token.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else {
                out.append(token)
                continue
            }
            for c in token {
                switch c {
                case "~": out.append("~0")
                case "/": out.append("~1")
                default: out.append(c)
                }
            }
        }
        return out
    }
}

extension JSONPointer {
    /// Parses an RFC 6901 pointer string: `""` is the root, otherwise it must start with `/`; `~1` → `/`,
    /// `~0` → `~`; any other `~` sequence is invalid (nil).
    public init?(parsing text: String) {
        if text.isEmpty { self.init(); return }
        guard text.hasPrefix("/") else { return nil }
        var tokens: [String] = []
        for raw in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            var token = ""
            var iterator = raw.makeIterator()
            while let c = iterator.next() {
                guard c == "~" else { token.append(c); continue }
                switch iterator.next() {
                case "0": token.append("~")
                case "1": token.append("/")
                default: return nil
                }
            }
            tokens.append(token)
        }
        self.init(tokens)
    }
}

extension JSONValue {
    /// RFC 6901 lookup: object members by key, array elements by decimal index (no leading zeros, no `-`).
    public subscript(pointer: JSONPointer) -> JSONValue? {
        var current = self
        for token in pointer.tokens {
            switch current {
            case .object(let object):
                guard let next = object[token] else { return nil }
                current = next
            case .array(let items):
                guard let index = Self.arrayIndex(token), index < items.count else { return nil }
                current = items[index]
            default:
                return nil
            }
        }
        return current
    }

    private static func arrayIndex(_ token: String) -> Int? {
        let utf8 = token.utf8
        guard !utf8.isEmpty, utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            utf8.count == 1 || utf8.first != UInt8(ascii: "0")
        else { return nil }
        return Int(token)
    }
}
