import Foundation
import XCTest
@testable import TorchRandom

/// The float32 erfinv of the TruncNormal kernel against real torch (x86 MKL `vmsErfInv`): Fixtures/erfinv_mkl_sample.bin
/// (make_erfinv_sample.py) holds 10,003 (input, torch output) pairs: 3000 of the table's exceptions, random floats,
/// uniform_(-1, 1) grid values, the floats around 0, ±0.5, ±1 and specials. The exhaustive check over all floats in
/// (−1, 1) is scripts/erfinv_mkl/make_table.py --check.
final class ErfinvMKLTests: XCTestCase {
    static let pairs: [(UInt32, UInt32)] = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("erfinv_mkl_sample.bin")
        let data = try! Data(contentsOf: url)
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 8)).map {
                (UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt32.self)),
                 UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0 + 4, as: UInt32.self)))
            }
        }
    }()

    func testScalarMatchesTorch() {
        let pairs = Self.pairs
        XCTAssertEqual(pairs.count, 10_003)
        var exceptions = 0, failures = 0
        for (y, want) in pairs {
            let yf = Float(bitPattern: y)
            if ErfinvFloat.correctlyRounded(yf).bitPattern != want { exceptions += 1 }
            let got = ErfinvFloat.erfinv(yf).bitPattern
            if got != want {
                failures += 1
                if failures <= 5 { XCTFail("erfinv(\(yf)) [\(String(y, radix: 16))] = \(String(got, radix: 16)), torch \(String(want, radix: 16))") }
            }
        }
        XCTAssertEqual(failures, 0)
        // the sample's exceptions are the ones the correction is for
        XCTAssertGreaterThanOrEqual(exceptions, 3000)
    }

    /// The vectorized transform (16-lane body and the tail) with scale 1, mean 0 and no clamp is torch's erfinv
    /// followed by `mul_(1).add_(0)` (which turns −0 into +0).
    func testTransformMatchesTorch() {
        let pairs = Self.pairs
        var buf = pairs.map { Float(bitPattern: $0.0) }
        buf.withUnsafeMutableBufferPointer {
            ErfinvFloat.truncNormalTransform($0.baseAddress!, count: $0.count, scale: 1, mean: 0, lo: -.infinity, hi: .infinity)
        }
        var failures = 0
        for (i, (y, want)) in pairs.enumerated() where buf[i].bitPattern != (Float(bitPattern: want) * 1 + 0).bitPattern {
            failures += 1
            if failures <= 5 { XCTFail("[\(i)] erfinv(\(Float(bitPattern: y))) = \(buf[i]), torch \(Float(bitPattern: want))") }
        }
        XCTAssertEqual(failures, 0)
    }

    /// Every table entry is reached by the kernel's midpoint filter and moves the result by exactly one ulp, both signs.
    func testEveryTableEntryApplies() {
        let keys = ErfinvMKL.table.keys
        XCTAssertEqual(keys.count, 60_477)
        XCTAssertEqual(ErfinvMKL.exceptionCount, ErfinvMKLTable.count)
        var ys = keys.map { Float(bitPattern: $0) }
        ys += ys.map { -$0 }
        var got = ys
        got.withUnsafeMutableBufferPointer {
            ErfinvFloat.truncNormalTransform($0.baseAddress!, count: $0.count, scale: 1, mean: 0, lo: -.infinity, hi: .infinity)
        }
        var wrong = 0
        for (y, g) in zip(ys, got) {
            let r = ErfinvFloat.correctlyRounded(y)
            let ok = (g.sign == r.sign) && g.bitPattern.magnitudeDistance(r.bitPattern) == 1
            if !ok {
                wrong += 1
                if wrong <= 5 { XCTFail("y=\(y): corrected \(g), correctly rounded \(r)") }
            }
        }
        XCTAssertEqual(wrong, 0)
    }
}

private extension UInt32 {
    func magnitudeDistance(_ o: UInt32) -> UInt32 {
        let a = self & 0x7FFF_FFFF, b = o & 0x7FFF_FFFF
        return a > b ? a - b : b - a
    }
}
