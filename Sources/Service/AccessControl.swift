import Foundation
import HTTPServer

/// Bearer-token access control (RFC 6750) for the service's work endpoints.
///
/// Tokens come from `--auth-token-file` (one per line; several for rotation: add the new one, roll the clients,
/// remove the old one). Comparison is constant-time in the secret: every configured token is compared with the
/// presented one in full, whatever matches, and the time depends only on the presented token's length.
/// Liveness and readiness probes are always open (the kubelet has no token); `/metrics` is open unless
/// `--protect-metrics` is set.
public struct AccessControl: Sendable {
    /// The accepted tokens; empty = access control off.
    public let tokens: [[UInt8]]
    /// Require the token for `/metrics` too.
    public var protectMetrics: Bool

    public init(tokens: [[UInt8]] = [], protectMetrics: Bool = false) {
        self.tokens = tokens
        self.protectMetrics = protectMetrics
    }

    public var isEnabled: Bool { !tokens.isEmpty }

    public struct FileError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Shortest token accepted: 16 characters (of RFC 6750's b64token alphabet) is ~96 bits when random.
    public static let minimumTokenLength = 16

    /// Reads a token file: one token per line; blank lines and lines starting with `#` are ignored,
    /// surrounding white space is trimmed. A file that cannot be read, holds no token, or holds a token that is
    /// too short or not a b64token is an error (the server then refuses to start: never silently open).
    public static func load(tokenFile path: String) throws(FileError) -> [[UInt8]] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FileError(description: "cannot read the auth token file \(path)")
        }
        var tokens: [[UInt8]] = []
        for (number, raw) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let bytes = Array(line.utf8)
            guard bytes.count >= minimumTokenLength else {
                throw FileError(description: "\(path):\(number + 1): token shorter than \(minimumTokenLength) characters")
            }
            guard bytes.allSatisfy(isTokenCharacter) else {
                throw FileError(description: "\(path):\(number + 1): a token may hold only A-Z a-z 0-9 - . _ ~ + / =")
            }
            tokens.append(bytes)
        }
        guard !tokens.isEmpty else { throw FileError(description: "the auth token file \(path) holds no token") }
        return tokens
    }

    /// RFC 6750 b64token: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" followed by "="s (any order accepted here).
    static func isTokenCharacter(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"),
             UInt8(ascii: "="):
            return true
        default:
            return false
        }
    }

    /// Does `endpoint` need a token?
    func requiresToken(_ endpoint: Endpoint?) -> Bool {
        guard isEnabled else { return false }
        switch endpoint {
        case .healthz, .readyz: return false
        case .metrics: return protectMetrics
        // Unknown paths too: an unauthenticated client learns nothing about the routes.
        case .initialize, .plan, .initializers, .jobs, .job, .jobCheckpoint, nil: return true
        }
    }

    enum Verdict: Equatable { case allowed, missing, invalid }

    /// Checks the `Authorization` header of a request for `endpoint`.
    func check(_ headers: HTTPHeaders, endpoint: Endpoint?) -> Verdict {
        guard requiresToken(endpoint) else { return .allowed }
        let values = headers.entries.filter { $0.name.lowercased() == "authorization" }.map(\.value)
        guard !values.isEmpty else { return .missing }
        // Two Authorization headers are ambiguous: refuse rather than pick one.
        guard values.count == 1, let presented = Self.bearerToken(values[0]) else { return .invalid }
        return matches(presented) ? .allowed : .invalid
    }

    /// The token of `Bearer <token>` (scheme case-insensitive), nil for any other form.
    static func bearerToken(_ value: String) -> [UInt8]? {
        let bytes = Array(value.utf8)
        let scheme = Array("bearer".utf8)
        guard bytes.count > scheme.count + 1,
              zip(bytes.prefix(scheme.count), scheme).allSatisfy({ $0 | 0x20 == $1 }),
              bytes[scheme.count] == UInt8(ascii: " ") else { return nil }
        var token = bytes[(scheme.count + 1)...].drop { $0 == UInt8(ascii: " ") }
        while token.last == UInt8(ascii: " ") { token = token.dropLast() }
        guard !token.isEmpty, token.allSatisfy(isTokenCharacter) else { return nil }
        return Array(token)
    }

    /// Constant-time in the secrets: compares against every token, over the presented token's full length.
    func matches(_ presented: [UInt8]) -> Bool {
        var any: UInt8 = 0
        for token in tokens {
            any |= Self.constantTimeEqual(presented, token)
        }
        return any == 1
    }

    /// 1 when equal, else 0. Runs over `presented.count` bytes whatever the contents; the secret's length enters
    /// only as a difference flag, so neither where a mismatch is nor how long the secret is changes the time.
    static func constantTimeEqual(_ presented: [UInt8], _ secret: [UInt8]) -> UInt8 {
        guard !secret.isEmpty else { return 0 }
        var diff: UInt = presented.count == secret.count ? 0 : 1
        presented.withUnsafeBufferPointer { p in
            secret.withUnsafeBufferPointer { s in
                var j = 0
                for i in 0 ..< p.count {
                    diff |= UInt(p[i] ^ s[j])
                    j += 1
                    if j == s.count { j = 0 }
                }
            }
        }
        return diff == 0 ? 1 : 0
    }
}

extension Problem {
    /// 401 with a `WWW-Authenticate: Bearer` challenge (RFC 6750 §3).
    static func unauthorized(_ verdict: AccessControl.Verdict) -> Problem {
        let invalid = verdict == .invalid
        let challenge = invalid ? #"Bearer realm="weightinit", error="invalid_token""# : #"Bearer realm="weightinit""#
        return Problem(status: 401, type: "unauthorized", title: "Unauthorized",
                       detail: invalid ? "the bearer token is not valid" : "this endpoint needs `Authorization: Bearer <token>`",
                       headers: ["WWW-Authenticate": challenge])
    }
}
