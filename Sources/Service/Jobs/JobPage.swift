import Foundation
import JSON

/// What the job page shows, copied out of a `Job` under the store's lock.
struct JobView {
    struct Tensor {
        var name: String
        var kind: String
        var shape: [Int64]
        var dtype: String
        var initializer: String?
        var mean: Double?
        var std: Double?
        var min: Double?
        var max: Double?
        var sha256: String?
    }

    var id: String
    var state: JobState
    var reason: String?
    var model: String
    var seed: String
    var dtype: String
    var format: String
    var fileName: String
    var bytesDone: UInt64
    var bytesTotal: UInt64
    var tensorsDone: Int
    var tensorsTotal: Int
    var created: Date
    var finished: Date?
    var expires: Date?
    var sha256: String?
    var tensors: [Tensor]

    init(_ job: Job, expiresAt: Date?) {
        id = job.id
        state = job.state
        reason = job.reason
        let r = job.report.objectValue ?? [:]
        model = r["model"]?.stringValue ?? "?"
        seed = job.seed
        dtype = r["dtype"]?.stringValue ?? "?"
        format = r["format"]?.stringValue ?? "?"
        fileName = job.fileName
        bytesDone = job.bytesDone
        bytesTotal = job.contentLength
        tensorsDone = job.tensorsDone
        tensorsTotal = job.tensorsTotal
        created = job.createdAt
        finished = job.finishedAt
        expires = expiresAt
        sha256 = job.sha256
        tensors = (r["tensors"]?.arrayValue ?? []).compactMap { $0.objectValue }.map { t in
            let stats = t["stats"]?.objectValue
            let last = t["initialized_by"]?.arrayValue?.last { $0.objectValue?["overwritten"] != true }
            return Tensor(name: t["name"]?.stringValue ?? "", kind: t["kind"]?.stringValue ?? "",
                          shape: t["shape"]?.arrayValue?.compactMap(\.intValue) ?? [], dtype: t["dtype"]?.stringValue ?? "",
                          initializer: last?.objectValue?["initializer"]?.stringValue,
                          mean: stats?["mean"]?.numberValue, std: stats?["std"]?.numberValue,
                          min: stats?["min"]?.numberValue, max: stats?["max"]?.numberValue,
                          sha256: t["sha256"]?.stringValue)
        }
    }
}

/// The job page: plain HTML and inline SVG, no script, no external asset. Every string that
/// comes from a request (tensor and model names, file name) is escaped.
enum JobPage {
    static func render(_ v: JobView) -> String {
        var h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        if !v.state.isFinished { h += "<meta http-equiv=\"refresh\" content=\"2\">" }
        h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        h += "<title>\(e(v.model)) · job \(e(v.state.rawValue)) · weightinit</title><style>\(css)</style></head><body>"
        h += "<header><h1>\(e(v.model)) <span class=\"state \(v.state.rawValue)\" id=\"state\">\(v.state.rawValue)</span></h1>"
        h += "<p class=\"meta\">job <code>\(e(v.id))</code> · seed \(e(v.seed)) · \(e(v.dtype)) · \(e(v.format)) · "
        h += "\(v.tensorsTotal) tensors · \(bytes(v.bytesTotal))</p></header><main>"
        switch v.state {
        case .queued, .running:
            let fraction = v.bytesTotal == 0 ? 0 : Double(v.bytesDone) / Double(v.bytesTotal)
            let pct = String(format: "%.1f", fraction * 100)
            h += "<section class=\"progress\"><div class=\"pbar\" role=\"progressbar\" aria-valuenow=\"\(pct)\" aria-valuemin=\"0\" aria-valuemax=\"100\">"
            h += "<div class=\"fill\" style=\"width: \(pct)%\"></div></div>"
            h += "<p id=\"progress\"><strong>\(pct)%</strong> · \(v.tensorsDone) of \(v.tensorsTotal) tensors · "
            h += "\(bytes(v.bytesDone)) of \(bytes(v.bytesTotal))"
            h += v.state == .queued ? " · waiting for a worker" : ""
            h += "</p><p class=\"hint\">This page refreshes itself every 2 seconds.</p></section>"
        case .failed, .cancelled:
            h += "<section class=\"notice \(v.state.rawValue)\"><p id=\"reason\">\(e(v.reason ?? v.state.rawValue))</p></section>"
        case .done:
            h += "<section class=\"done\"><p><a href=\"/jobs/\(e(v.id))/checkpoint\" download>\(e(v.fileName))</a> · \(bytes(v.bytesTotal))"
            if let sha = v.sha256 { h += " · sha256 <code>\(e(sha))</code>" }
            h += "</p></section>"
        }
        if v.state == .done {
            h += charts(v.tensors)
        }
        h += table(v)
        h += "<footer>created \(e(stamp(v.created)))"
        if let f = v.finished { h += " · finished \(e(stamp(f)))" }
        if let x = v.expires { h += " · expires \(e(stamp(x)))" }
        h += " · <a href=\"/jobs/\(e(v.id))?view=json\">JSON</a></footer></main></body></html>\n"
        return h
    }

    // MARK: Table

    private static func table(_ v: JobView) -> String {
        let withStats = v.state == .done
        var h = "<section><h2>Tensors</h2><table id=\"tensors\"><thead><tr><th>#</th><th>name</th><th>shape</th><th>dtype</th>"
        h += "<th>initialized by</th>"
        if withStats { h += "<th>mean</th><th>std</th><th>min</th><th>max</th><th>sha256</th>" }
        h += "</tr></thead><tbody>"
        for (i, t) in v.tensors.enumerated() {
            h += "<tr class=\"\(t.kind == "buffer" ? "buffer" : "param")\"><td>\(i)</td><td class=\"name\">\(e(t.name))</td>"
            h += "<td>[\(t.shape.map(String.init).joined(separator: ", "))]</td><td>\(e(t.dtype))</td><td>\(e(t.initializer ?? "—"))</td>"
            if withStats {
                for x in [t.mean, t.std, t.min, t.max] { h += "<td class=\"num\">\(number(x))</td>" }
                h += "<td><code>\(e(t.sha256.map { String($0.prefix(12)) } ?? "—"))</code></td>"
            }
            h += "</tr>"
        }
        return h + "</tbody></table></section>"
    }

    // MARK: Charts

    private static let width = 960.0, plotLeft = 64.0, plotRight = 12.0

    /// std (log scale) and mean (linear, around 0) of every tensor, in state_dict order, with
    /// alternating bands per module so layers read left to right.
    private static func charts(_ tensors: [JobView.Tensor]) -> String {
        guard !tensors.isEmpty else { return "" }
        var h = "<section class=\"charts\"><h2>Standard deviation by tensor <small>(log scale)</small></h2>"
        h += stdChart(tensors)
        h += "<h2>Mean by tensor</h2>"
        h += meanChart(tensors)
        h += "<p class=\"legend\"><span class=\"sw w\"></span>weights <span class=\"sw b\"></span>biases "
        h += "<span class=\"sw o\"></span>other parameters and buffers <span class=\"sw z\"></span>constant (std 0) — bands group tensors by module; hover a bar for its name</p>"
        return h + "</section>"
    }

    private static func color(_ t: JobView.Tensor) -> String {
        if t.kind == "buffer" { return "#8a8f98" }
        if t.name.hasSuffix("weight") { return "#2f6fdf" }
        if t.name.hasSuffix("bias") { return "#e07b22" }
        return "#8a8f98"
    }

    private static func module(_ name: String) -> String {
        guard let dot = name.lastIndex(of: ".") else { return "" }
        return String(name[..<dot])
    }

    private struct Frame {
        let n: Int
        let height: Double
        let top = 10.0
        let bottom: Double
        var step: Double { (JobPage.width - JobPage.plotLeft - JobPage.plotRight) / Double(max(n, 1)) }
        var plotBottom: Double { height - bottom }
        func x(_ i: Int) -> Double { JobPage.plotLeft + Double(i) * step }
    }

    private static func frame(_ tensors: [JobView.Tensor]) -> Frame {
        Frame(n: tensors.count, height: tensors.count <= 48 ? 300 : 200, bottom: tensors.count <= 48 ? 110 : 14)
    }

    private static func svgOpen(_ f: Frame, id: String, label: String) -> String {
        "<svg id=\"\(id)\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(fmt(width)) \(fmt(f.height))\" role=\"img\" aria-label=\"\(e(label))\">"
    }

    private static func bands(_ tensors: [JobView.Tensor], _ f: Frame) -> String {
        var h = ""
        var start = 0, shade = false
        for i in 0...tensors.count {
            if i == tensors.count || module(tensors[i].name) != module(tensors[start].name) {
                if shade {
                    h += "<rect x=\"\(fmt(f.x(start)))\" y=\"\(fmt(f.top))\" width=\"\(fmt(Double(i - start) * f.step))\" height=\"\(fmt(f.plotBottom - f.top))\" fill=\"#f1f3f7\"/>"
                }
                shade.toggle()
                start = i
            }
        }
        return h
    }

    private static func labels(_ tensors: [JobView.Tensor], _ f: Frame) -> String {
        guard tensors.count <= 48 else { return "" }
        var h = ""
        for (i, t) in tensors.enumerated() {
            let x = f.x(i) + f.step / 2, y = f.plotBottom + 6
            let name = t.name.count > 26 ? "…" + t.name.suffix(25) : t.name
            h += "<text x=\"\(fmt(x))\" y=\"\(fmt(y))\" transform=\"rotate(-55 \(fmt(x)) \(fmt(y)))\" text-anchor=\"end\" class=\"tick\">\(e(name))</text>"
        }
        return h
    }

    private static func stdChart(_ tensors: [JobView.Tensor]) -> String {
        let f = frame(tensors)
        let positive = tensors.compactMap(\.std).filter { $0 > 0 && $0.isFinite }
        var lo = floor(log10(positive.min() ?? 1e-3) - 0.3), hi = ceil(log10(positive.max() ?? 1))
        if hi <= lo { hi = lo + 1 }
        if hi - lo > 12 { lo = hi - 12 }
        func y(_ s: Double) -> Double {
            let v = min(max(log10(s), lo), hi)
            return f.plotBottom - (v - lo) / (hi - lo) * (f.plotBottom - f.top)
        }
        var h = svgOpen(f, id: "std-chart", label: "standard deviation of each tensor, log scale")
        h += bands(tensors, f)
        for d in stride(from: lo, through: hi, by: 1) {
            let yy = y(pow(10, d))
            h += "<line x1=\"\(fmt(plotLeft))\" x2=\"\(fmt(width - plotRight))\" y1=\"\(fmt(yy))\" y2=\"\(fmt(yy))\" class=\"grid\"/>"
            h += "<text x=\"\(fmt(plotLeft - 6))\" y=\"\(fmt(yy + 4))\" text-anchor=\"end\" class=\"tick\">1e\(Int(d))</text>"
        }
        let w = max(1, f.step * 0.72)
        for (i, t) in tensors.enumerated() {
            let x = f.x(i) + (f.step - w) / 2
            let title = "<title>\(e(t.name)): std \(number(t.std))</title>"
            if let s = t.std, s > 0, s.isFinite {
                let yy = y(s)
                h += "<rect class=\"bar\" x=\"\(fmt(x))\" y=\"\(fmt(yy))\" width=\"\(fmt(w))\" height=\"\(fmt(max(1, f.plotBottom - yy)))\" fill=\"\(color(t))\">\(title)</rect>"
            } else if t.std != nil {
                h += "<rect class=\"bar zero\" x=\"\(fmt(x))\" y=\"\(fmt(f.plotBottom - 4))\" width=\"\(fmt(w))\" height=\"4\" fill=\"#2a9d55\">\(title)</rect>"
            }
        }
        h += "<line x1=\"\(fmt(plotLeft))\" x2=\"\(fmt(width - plotRight))\" y1=\"\(fmt(f.plotBottom))\" y2=\"\(fmt(f.plotBottom))\" class=\"axis\"/>"
        return h + labels(tensors, f) + "</svg>"
    }

    private static func meanChart(_ tensors: [JobView.Tensor]) -> String {
        let f = frame(tensors)
        let extent = max(tensors.compactMap(\.mean).filter(\.isFinite).map(abs).max() ?? 0, 1e-12)
        let limit = niceCeiling(extent)
        let mid = (f.top + f.plotBottom) / 2
        func y(_ m: Double) -> Double { mid - m / limit * (mid - f.top) }
        var h = svgOpen(f, id: "mean-chart", label: "mean of each tensor")
        h += bands(tensors, f)
        for v in [limit, limit / 2, 0, -limit / 2, -limit] {
            h += "<line x1=\"\(fmt(plotLeft))\" x2=\"\(fmt(width - plotRight))\" y1=\"\(fmt(y(v)))\" y2=\"\(fmt(y(v)))\" class=\"\(v == 0 ? "axis" : "grid")\"/>"
            h += "<text x=\"\(fmt(plotLeft - 6))\" y=\"\(fmt(y(v) + 4))\" text-anchor=\"end\" class=\"tick\">\(number(v))</text>"
        }
        let w = max(1, f.step * 0.72)
        for (i, t) in tensors.enumerated() {
            guard let m = t.mean, m.isFinite else { continue }
            let x = f.x(i) + (f.step - w) / 2
            let top = min(y(m), mid), height = max(1, abs(y(m) - mid))
            h += "<rect class=\"bar\" x=\"\(fmt(x))\" y=\"\(fmt(top))\" width=\"\(fmt(w))\" height=\"\(fmt(height))\" fill=\"\(t.std == 0 ? "#2a9d55" : color(t))\"><title>\(e(t.name)): mean \(number(t.mean))</title></rect>"
        }
        return h + labels(tensors, f) + "</svg>"
    }

    /// 1, 2 or 5 times a power of ten, at least `x`.
    static func niceCeiling(_ x: Double) -> Double {
        let p = pow(10, floor(log10(x)))
        for m in [1.0, 2, 5, 10] where m * p >= x * (1 - 1e-12) { return m * p }
        return 10 * p
    }

    // MARK: Formatting

    /// HTML-escapes text for element content and quoted attributes.
    static func e(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters would make the document invalid.
                if c.value < 0x20 && c != "\n" && c != "\t" { out += "\u{FFFD}" } else { out.unicodeScalars.append(c) }
            }
        }
        return out
    }

    static func number(_ x: Double?) -> String {
        guard let x else { return "—" }
        if x == 0 { return "0" }
        return String(format: "%.4g", x)
    }

    private static func fmt(_ x: Double) -> String { String(format: "%.1f", x) }

    static func bytes(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n), u = 0
        while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
        return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
    }

    private static func stamp(_ d: Date) -> String { d.formatted(Date.ISO8601FormatStyle()) }

    private static let css = """
    body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1d2430;background:#fff}
    header{padding:18px 28px 8px;border-bottom:1px solid #e3e6ec}h1{font-size:22px;margin:0 0 4px}
    h2{font-size:16px;margin:22px 0 8px}h2 small{font-weight:normal;color:#667}main{padding:0 28px 28px}
    .meta,.hint,footer{color:#5b6472}footer{margin-top:24px;font-size:12px}code{font:12px ui-monospace,"DejaVu Sans Mono",monospace}
    .state{font-size:13px;vertical-align:middle;padding:2px 9px;border-radius:10px;color:#fff;background:#667}
    .state.running,.state.queued{background:#2f6fdf}.state.done{background:#2a9d55}.state.failed{background:#c0392b}.state.cancelled{background:#8a8f98}
    .progress{margin:22px 0}.pbar{height:18px;border-radius:9px;background:#e6e9ef;overflow:hidden;max-width:960px}
    .fill{height:100%;background:#2f6fdf}.notice{margin:18px 0;padding:10px 14px;border-radius:6px;background:#fbeaea;color:#7d1f16}
    .notice.cancelled{background:#eef0f3;color:#333}.done{margin:16px 0}
    .chart{width:100%;max-width:960px;display:block;background:#fff}.chart .grid{stroke:#dde1e8;stroke-width:1}
    .chart .axis{stroke:#555;stroke-width:1}.chart .tick{font-size:10px;fill:#4a5260}
    .legend{color:#4a5260;font-size:12px}.sw{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px;vertical-align:middle}
    .sw.w{background:#2f6fdf}.sw.b{background:#e07b22}.sw.o{background:#8a8f98}.sw.z{background:#2a9d55}
    table{border-collapse:collapse;font-size:13px;margin-top:4px}th,td{padding:3px 10px;border-bottom:1px solid #eceef2;text-align:left;white-space:nowrap}
    th{background:#f6f7f9;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}td.name{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
    tr.buffer td{color:#6b7280}
    """
}
