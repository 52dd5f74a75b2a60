import JSON
import Model
import TorchInit

enum TruncNormal {
    /// torch 2.15 `trunc_normal_`'s Python arithmetic, and what this service reproduces of it: the p > 0.3 branch
    /// (normal_ and full-size redraws); the uniform-proposal branch (p ≤ 0.3, MKL `vsLn` in the acceptance test)
    /// is refused.
    static func check(mean: Double, std: Double, a: Double, b: Double, at: JSONPointer) throws(ModelError) {
        if std == 0 { throw .rejected(at / "std", "ZeroDivisionError: float division by zero") }
        if !(std > 0) { throw .rejected(at / "std", "RuntimeError: normal expects std >= 0.0, but found std \(pythonFloat(std))") }
        if !mean.isFinite { throw .rejected(at / "mean", "trunc_normal_ with a non-finite mean is not supported") }
        let p = TruncNormalSampler.p(mean: mean, std: std, a: a, b: b)
        if !(p > 0.3) {
            throw .rejected(at, "trunc_normal_ with P(a ≤ X ≤ b) = \(pythonFloat(p)) ≤ 0.3 takes torch's uniform-proposal branch (MKL log in the acceptance test), which this service does not reproduce")
        }
    }
}
