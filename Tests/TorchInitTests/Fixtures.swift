import Foundation
import XCTest

/// Loads Fixtures/torch_ref.{json,bin}, produced by Fixtures/make_fixtures.py from real torch 2.15 + MMEngine 0.10.7.
final class TorchRef: @unchecked Sendable {
    static let shared = TorchRef()
    let json: [String: Any]
    let blob: Data

    private init() {
        let dir = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        json = try! JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("torch_ref.json"))) as! [String: Any]
        blob = try! Data(contentsOf: dir.appendingPathComponent("torch_ref.bin"))
    }

    func u32(_ ref: Any?) -> [UInt32] { read(ref, UInt32.self) }
    func u64(_ ref: Any?) -> [UInt64] { read(ref, UInt64.self) }
    func u16(_ ref: Any?) -> [UInt16] { read(ref, UInt16.self) }

    private func read<T: FixedWidthInteger>(_ ref: Any?, _: T.Type) -> [T] {
        let d = ref as! [String: Any]
        let off = (d["off"] as! NSNumber).intValue, n = (d["n"] as! NSNumber).intValue
        return blob.withUnsafeBytes { raw in
            (0..<n).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: off + $0 * MemoryLayout<T>.size, as: T.self)) }
        }
    }

    func array(_ key: String) -> [[String: Any]] { json[key] as! [[String: Any]] }
}

extension Dictionary where Key == String, Value == Any {
    func int(_ k: String) -> Int { (self[k] as! NSNumber).intValue }
    func u64(_ k: String) -> UInt64 { (self[k] as! NSNumber).uint64Value }
    func double(_ k: String) -> Double { (self[k] as! NSNumber).doubleValue }
    func str(_ k: String) -> String { self[k] as! String }
    /// Doubles stored as hex bit-pattern strings.
    func doubles(_ k: String) -> [Double] { (self[k] as! [String]).map(hexDouble) }
    func hexD(_ k: String) -> Double { hexDouble(self[k] as! String) }
    func seed(_ k: String) -> UInt64 { UInt64(self[k] as! String, radix: 16)! }
    func ints(_ k: String) -> [Int] { (self[k] as! [NSNumber]).map(\.intValue) }
    func dict(_ k: String) -> [String: Any] { self[k] as! [String: Any] }
}

/// ulp distance between two floats of the same sign class (monotone integer mapping).
func ulpDistance(_ a: Float, _ b: Float) -> Int {
    func key(_ x: Float) -> Int64 { let u = Int64(Int32(bitPattern: x.bitPattern)); return u < 0 ? Int64(Int32.min) - u : u }
    return Int(abs(key(a) - key(b)))
}
func ulpDistance(_ a: Double, _ b: Double) -> UInt64 {
    func key(_ x: Double) -> Int64 { let u = Int64(bitPattern: x.bitPattern); return u < 0 ? Int64.min &- u : u }
    let d = key(a).subtractingReportingOverflow(key(b)).partialValue
    return d.magnitude
}

func hexDouble(_ s: String) -> Double { Double(bitPattern: UInt64(s, radix: 16)!) }
