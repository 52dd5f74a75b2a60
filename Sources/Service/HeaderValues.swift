import Foundation

enum MediaType {
    /// `application/json`, or any `+json` type, parameters (charset) ignored.
    static func isJSON(_ contentType: String) -> Bool {
        let type = contentType.split(separator: ";", maxSplits: 1).first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        } ?? ""
        return type == "application/json" || (type.hasPrefix("application/") && type.hasSuffix("+json"))
    }
}

enum HeaderValue {
    /// Drops control characters so a value can never split a header (CR/LF injection).
    static func clean(_ value: String) -> String {
        String(String.UnicodeScalarView(value.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }))
    }
}

enum ContentDisposition {
    /// `attachment; filename="…"` with an ASCII fallback, plus RFC 6266 `filename*` when the
    /// name is not plain ASCII.
    static func attachment(_ name: String) -> String {
        let cleaned = HeaderValue.clean(name).replacingOccurrences(of: "/", with: "_")
        let ascii = String(String.UnicodeScalarView(cleaned.unicodeScalars.map {
            $0.isASCII && $0 != "\"" && $0 != "\\" ? $0 : "_"
        }))
        let fallback = ascii.isEmpty ? "checkpoint" : ascii
        var value = "attachment; filename=\"\(fallback)\""
        if fallback != cleaned {
            let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$&+-.^_`|~")
            if let encoded = cleaned.addingPercentEncoding(withAllowedCharacters: allowed) {
                value += "; filename*=UTF-8''\(encoded)"
            }
        }
        return value
    }
}
