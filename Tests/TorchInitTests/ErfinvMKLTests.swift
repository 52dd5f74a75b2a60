import Foundation
import XCTest
@testable import TorchRandom

/// The float32 erfinv of the TruncNormal kernel against real torch (x86 MKL `vmsErfInv`) on each of MKL's code paths:
/// Fixtures/erfinv_mkl_sample{,_avx2,_avx512}.bin (make_erfinv_sample.py, torch with MKL_ENABLE_INSTRUCTIONS pinned)
/// each hold 10,003 (input, torch output) pairs: 3000 of that path's table exceptions, random floats, uniform_(-1, 1)
/// grid values, the floats around 0, ±0.5, ±1 and specials. The exhaustive check over all floats in (−1, 1) is
/// scripts/erfinv_mkl/make_table.py --check [--path PATH].
final class ErfinvMKLTests: XCTestCase {
    static func pairs(_ path: ErfinvMKL.Path) -> [(UInt32, UInt32)] {
        let file = path == .sse4_2 ? "erfinv_mkl_sample.bin" : "erfinv_mkl_sample_\(path.rawValue).bin"
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(file)
        let data = try! Data(contentsOf: url)
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 8)).map {
                (UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt32.self)),
                 UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0 + 4, as: UInt32.self)))
            }
        }
    }

    func testScalarMatchesTorch() {
        for path in ErfinvMKL.Path.allCases {
            let pairs = Self.pairs(path)
            XCTAssertEqual(pairs.count, 10_003)
            var exceptions = 0, failures = 0
            for (y, want) in pairs {
                let yf = Float(bitPattern: y)
                if ErfinvFloat.correctlyRounded(yf).bitPattern != want { exceptions += 1 }
                let got = ErfinvFloat.erfinv(yf, mkl: path).bitPattern
                if got != want {
                    failures += 1
                    if failures <= 5 { XCTFail("\(path): erfinv(\(yf)) [\(String(y, radix: 16))] = \(String(got, radix: 16)), torch \(String(want, radix: 16))") }
                }
            }
            XCTAssertEqual(failures, 0, "\(path)")
            // the sample's exceptions are the ones the correction is for
            XCTAssertGreaterThanOrEqual(exceptions, 3000, "\(path)")
        }
    }

    /// The samples' torch outputs differ between the paths, so each path's table is needed for its own torch.
    func testThePathsDiffer() {
        let sse = Self.pairs(.sse4_2), avx512 = Self.pairs(.avx512)
        var differ = 0
        for (y, want) in avx512 where ErfinvFloat.erfinv(Float(bitPattern: y), mkl: .sse4_2).bitPattern != want { differ += 1 }
        XCTAssertGreaterThan(differ, 1000)
        differ = 0
        for (y, want) in sse where ErfinvFloat.erfinv(Float(bitPattern: y), mkl: .avx2).bitPattern != want { differ += 1 }
        XCTAssertGreaterThan(differ, 1000)
    }

    /// The vectorized transform (16-lane body and the tail) with scale 1, mean 0 and no clamp is torch's erfinv
    /// followed by `mul_(1).add_(0)` (which turns −0 into +0).
    func testTransformMatchesTorch() {
        for path in ErfinvMKL.Path.allCases {
            let pairs = Self.pairs(path)
            var buf = pairs.map { Float(bitPattern: $0.0) }
            buf.withUnsafeMutableBufferPointer {
                ErfinvFloat.truncNormalTransform($0.baseAddress!, count: $0.count, scale: 1, mean: 0, lo: -.infinity,
                                                 hi: .infinity, mkl: path)
            }
            var failures = 0
            for (i, (y, want)) in pairs.enumerated() where buf[i].bitPattern != (Float(bitPattern: want) * 1 + 0).bitPattern {
                failures += 1
                if failures <= 5 { XCTFail("\(path) [\(i)] erfinv(\(Float(bitPattern: y))) = \(buf[i]), torch \(Float(bitPattern: want))") }
            }
            XCTAssertEqual(failures, 0, "\(path)")
        }
    }

    /// Every table entry is reached by the kernel's midpoint filter and moves the result by exactly one ulp, both signs.
    func testEveryTableEntryApplies() {
        let counts: [ErfinvMKL.Path: Int] = [.sse4_2: 60_477, .avx2: 21_356, .avx512: 543_172]
        for path in ErfinvMKL.Path.allCases {
            let keys = path.table.keys
            XCTAssertEqual(keys.count, counts[path], "\(path)")
            XCTAssertEqual(ErfinvMKL.exceptionCount(path), keys.count)
            var ys = keys.map { Float(bitPattern: $0) }
            ys += ys.map { -$0 }
            var got = ys
            got.withUnsafeMutableBufferPointer {
                ErfinvFloat.truncNormalTransform($0.baseAddress!, count: $0.count, scale: 1, mean: 0, lo: -.infinity,
                                                 hi: .infinity, mkl: path)
            }
            var wrong = 0
            for (y, g) in zip(ys, got) {
                let r = ErfinvFloat.correctlyRounded(y)
                let ok = (g.sign == r.sign) && g.bitPattern.magnitudeDistance(r.bitPattern) == 1
                if !ok {
                    wrong += 1
                    if wrong <= 5 { XCTFail("\(path) y=\(y): corrected \(g), correctly rounded \(r)") }
                }
            }
            XCTAssertEqual(wrong, 0, "\(path)")
        }
    }
}

private extension UInt32 {
    func magnitudeDistance(_ o: UInt32) -> UInt32 {
        let a = self & 0x7FFF_FFFF, b = o & 0x7FFF_FFFF
        return a > b ? a - b : b - a
    }
}
