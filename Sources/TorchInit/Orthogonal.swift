#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TorchRandom

/// `torch.nn.init.orthogonal_`: exact draws (normal_(0,1) on a rows×cols tensor), then Householder QR in double.
/// torch uses LAPACK, so values agree only to ~1e-6 (not bit-exact).
enum Orthogonal {
    static func fill(_ out: UnsafeMutableBufferPointer<Float>, shape: [Int], gain: Double, _ g: inout CPUGenerator) {
        guard out.count > 0 else { return }
        Distributions.normal(out, mean: 0, std: 1, &g)
        let rows = shape[0], cols = out.count / rows
        var a = [Double](repeating: 0, count: out.count)
        for i in 0..<out.count { a[i] = Double(out[i]) }
        let q = orthonormalize(a, rows: rows, cols: cols)
        let fg = Float(gain)
        for i in 0..<out.count { out[i] = Float(q[i]) * fg }   // copy_ to float32, then mul_(gain) in float
    }

    static func fill(_ out: UnsafeMutableBufferPointer<Double>, shape: [Int], gain: Double, _ g: inout CPUGenerator) {
        guard out.count > 0 else { return }
        Distributions.normal(out, mean: 0, std: 1, &g)
        let rows = shape[0], cols = out.count / rows
        let q = orthonormalize(Array(out), rows: rows, cols: cols)
        for i in 0..<out.count { out[i] = q[i] * gain }
    }

    /// `flattened` (row-major rows×cols) → row-major rows×cols result of torch's QR + sign fix (+ transposes).
    static func orthonormalize(_ flat: [Double], rows: Int, cols: Int) -> [Double] {
        // Work on M (m×n, m ≥ n) stored column-major: M = flat if rows ≥ cols, else flatᵀ.
        let transpose = rows < cols
        let m = transpose ? cols : rows, n = transpose ? rows : cols
        var A = [Double](repeating: 0, count: m * n)   // column-major: A[i + j*m]
        for r in 0..<rows {
            for c in 0..<cols {
                let v = flat[r * cols + c]
                if transpose { A[c + r * m] = v } else { A[r + c * m] = v }
            }
        }
        var vs = [[Double]]()           // Householder vectors (length m - k)
        var betas = [Double](repeating: 0, count: n)
        var rdiag = [Double](repeating: 0, count: n)
        vs.reserveCapacity(n)
        for k in 0..<n {
            var norm2 = 0.0
            for i in k..<m { norm2 += A[i + k * m] * A[i + k * m] }
            let norm = norm2.squareRoot()
            let alpha = A[k + k * m]
            var v = [Double](repeating: 0, count: m - k)
            if norm == 0 {
                vs.append(v); betas[k] = 0; rdiag[k] = 0
                continue
            }
            let beta = alpha >= 0 ? -norm : norm
            for i in k..<m { v[i - k] = A[i + k * m] }
            v[0] = alpha - beta
            var vnorm2 = 0.0
            for x in v { vnorm2 += x * x }
            let tau = vnorm2 == 0 ? 0 : 2 / vnorm2
            // Apply H = I − tau·v·vᵀ to the remaining columns.
            for j in (k + 1)..<max(n, k + 1) {
                var dot = 0.0
                for i in k..<m { dot += v[i - k] * A[i + j * m] }
                let f = tau * dot
                if f != 0 { for i in k..<m { A[i + j * m] -= f * v[i - k] } }
            }
            vs.append(v); betas[k] = tau; rdiag[k] = beta
        }
        // Q (m×n, column-major) = H0·H1·…·H(n−1)·[I; 0]
        var Q = [Double](repeating: 0, count: m * n)
        for j in 0..<n { Q[j + j * m] = 1 }
        for k in stride(from: n - 1, through: 0, by: -1) {
            let v = vs[k], tau = betas[k]
            if tau == 0 { continue }
            for j in 0..<n {
                var dot = 0.0
                for i in k..<m { dot += v[i - k] * Q[i + j * m] }
                let f = tau * dot
                if f != 0 { for i in k..<m { Q[i + j * m] -= f * v[i - k] } }
            }
        }
        // q *= sign(diag(r))  (sign(0) = 0 as in torch)
        for j in 0..<n {
            let d = rdiag[j]
            let s: Double = d > 0 ? 1 : (d < 0 ? -1 : 0)
            for i in 0..<m { Q[i + j * m] *= s }
        }
        // Back to row-major rows×cols (transpose back when rows < cols).
        var out = [Double](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            for c in 0..<cols {
                out[r * cols + c] = transpose ? Q[c + r * m] : Q[r + c * m]
            }
        }
        return out
    }
}
