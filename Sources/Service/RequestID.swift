import Foundation

/// X-Request-Id: echo the caller's id when it is reasonable, otherwise make one.
enum RequestID {
    /// Accepted inbound: 1...128 visible ASCII characters from a conservative set, so the
    /// value is safe in headers, logs and JSON.
    static func accept(_ inbound: String?) -> String {
        if let inbound, (1...128).contains(inbound.utf8.count),
           inbound.utf8.allSatisfy({ isAllowed($0) }) {
            return inbound
        }
        return UUID().uuidString.lowercased()
    }

    private static func isAllowed(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
             UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "/"), UInt8(ascii: "+"), UInt8(ascii: "="):
            return true
        default:
            return false
        }
    }
}
