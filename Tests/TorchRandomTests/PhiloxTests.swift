import TorchRandom
import XCTest

/// Philox4x32-10 against Random123's published known-answer vectors (kat_vectors, "philox4x32 10 CTR[4] KEY[2] → OUT[4]").
final class PhiloxTests: XCTestCase {
    func testKnownAnswerVectors() {
        let cases: [((UInt32, UInt32, UInt32, UInt32), (UInt32, UInt32), [UInt32])] = [
            ((0, 0, 0, 0), (0, 0), [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]),
            ((0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff), (0xffff_ffff, 0xffff_ffff),
             [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]),
            ((0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), (0xa409_3822, 0x299f_31d0),
             [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]),
        ]
        for (ctr, key, want) in cases {
            let out = Philox.block(ctr, key: key)
            XCTAssertEqual([out.0, out.1, out.2, out.3], want)
        }
    }

    func testCounterKeyDerivation() {
        // FNV-1a 64 reference values: "" → cbf29ce484222325, "a" → af63dc4c8601ec8c.
        XCTAssertEqual(Philox.fnv1a64("".utf8), 0xcbf2_9ce4_8422_2325)
        XCTAssertEqual(Philox.fnv1a64("a".utf8), 0xaf63_dc4c_8601_ec8c)
        XCTAssertNotEqual(CounterKey(seed: 0, name: "a.weight"), CounterKey(seed: 0, name: "b.weight"))
        XCTAssertNotEqual(CounterKey(seed: 0, name: "a.weight"), CounterKey(seed: 1, name: "a.weight"))
        XCTAssertEqual(CounterKey(seed: 7, name: "x"), CounterKey(seed: 7, name: "x"))
        // The element index fills counter words 0 and 1; ordinal and round words 2 and 3.
        let k = CounterKey(k0: 0xa409_3822, k1: 0x299f_31d0)
        let w = k.words(Int(bitPattern: UInt(0x85a3_08d3_243f_6a88)), ordinal: 0x1319_8a2e, round: 0x0370_7344)
        XCTAssertEqual([w.0, w.1, w.2, w.3], [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1])
    }
}
