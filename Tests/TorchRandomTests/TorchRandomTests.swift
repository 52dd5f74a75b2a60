import XCTest
@testable import TorchRandom

final class MT19937Tests: XCTestCase {
    /// C++11 standard [rand.predef]: the 10000th output of default-constructed std::mt19937 (seed 5489) is 4123659995.
    func testStdMT19937TenThousandth() {
        var mt = MT19937(seed: 5489)
        for _ in 0..<9999 { _ = mt.next() }
        XCTAssertEqual(mt.next(), 4_123_659_995)
    }

    /// Reference MT19937 (init_genrand(5489)) first outputs, as published with mt19937ar.c / std::mt19937.
    func testFirstOutputsSeed5489() {
        var mt = MT19937(seed: 5489)
        XCTAssertEqual((0..<5).map { _ in mt.next() }, [3_499_211_612, 581_869_302, 3_890_346_734, 3_586_334_585, 545_404_204])
    }

    func testOnlyLow32BitsOfSeed() {
        var a = MT19937(seed: 5), b = MT19937(seed: (1 << 32) + 5)
        var c = MT19937(seed: UInt64(bitPattern: -1)), d = MT19937(seed: 0xFFFF_FFFF)
        for _ in 0..<1000 {
            XCTAssertEqual(a.next(), b.next())
            XCTAssertEqual(c.next(), d.next())
        }
    }

    func testSkipMatchesDraws() {
        for n in [0, 1, 5, 623, 624, 625, 1247, 1248, 1249, 5000, 624 * 7] {
            for pre in [0, 1, 300, 623, 624] {
                var a = MT19937(seed: 99), b = a
                for _ in 0..<pre { _ = a.next(); _ = b.next() }
                for _ in 0..<n { _ = a.next() }
                b.skip(n)
                XCTAssertEqual(a.stateWords, b.stateWords, "n=\(n) pre=\(pre)")
                XCTAssertEqual(a.remainingInBlock, b.remainingInBlock)
                for _ in 0..<700 { XCTAssertEqual(a.next(), b.next()) }
            }
        }
    }

    func testGenerateMatchesNext() {
        var a = MT19937(seed: 3), b = a
        var got = [UInt32](repeating: 0, count: 2000)
        for _ in 0..<100 { _ = a.next(); _ = b.next() }
        got.withUnsafeMutableBufferPointer { p in a.generate(2000) { i, r in p[i] = r } }
        for i in 0..<2000 { XCTAssertEqual(got[i], b.next()) }
        XCTAssertEqual(a.next(), b.next())
    }

    func testCopyIsSnapshot() {
        var g = CPUGenerator(seed: 7)
        for _ in 0..<10 { _ = g.random() }
        g.spare = 0.25
        let snap = g
        let firstRun = (0..<3000).map { _ in g.random() }
        g.spare = nil
        var h = snap
        XCTAssertEqual(h.spare, 0.25)
        XCTAssertEqual((0..<3000).map { _ in h.random() }, firstRun)
    }

    func testRandom64HighWordFirst() {
        var a = CPUGenerator(seed: 11), b = a
        let hi = UInt64(b.random()), lo = UInt64(b.random())
        XCTAssertEqual(a.random64(), hi << 32 | lo)
    }
}

/// Small vectors printed by real torch 2.15 (AVX2 build), `torch.Generator().manual_seed(s)`.
final class TorchVectorTests: XCTestCase {
    func bits(_ b: UnsafeMutableBufferPointer<Float>) -> [UInt32] { b.map(\.bitPattern) }

    func testSeed42Sequence() {
        var g = CPUGenerator(seed: 42)
        var u = [Float](repeating: 0, count: 8)
        u.withUnsafeMutableBufferPointer { Distributions.uniform($0, from: 0, to: 1, &g) }
        XCTAssertEqual(u.map(\.bitPattern), [0x3f61dc66, 0x3f6a3db3, 0x3ec406b8, 0x3f75950e, 0x3ec7e8d4, 0x3f19d447, 0x3e835d78, 0x3f4b2c14])
        var n5 = [Float](repeating: 0, count: 5)
        n5.withUnsafeMutableBufferPointer { Distributions.normal($0, mean: 0, std: 1, &g) }
        XCTAssertEqual(n5.map(\.bitPattern), [0xbf8fb9c2, 0xbe3eccd8, 0x400d532c, 0xbf2353c6, 0x3eec5e56])
        XCTAssertNotNil(g.spare)
        var n18 = [Float](repeating: 0, count: 18)
        n18.withUnsafeMutableBufferPointer { Distributions.normal($0, mean: 0, std: 1, &g) }
        XCTAssertEqual(n18.map(\.bitPattern), [0xbf4214e2, 0x3f8a0650, 0x3e9c8774, 0xbf464bb2, 0x3d0f003f, 0x3ea4679d, 0x3fc96bbb, 0xbf58708e, 0x3fa7f9b2, 0x3f2fe9b1, 0xbf9e091d, 0xbef9cfd9, 0xbfb582fd, 0x3f6571d7, 0x3d4c6997, 0x401111e8, 0x3f96e7dd, 0xbede70cf])
        var n1 = [Float](repeating: 0, count: 1)
        n1.withUnsafeMutableBufferPointer { Distributions.normal($0, mean: 0, std: 1, &g) }
        XCTAssertEqual(n1.map(\.bitPattern), [0x3e88e237])   // the spare left by n5, survived the fill path
        XCTAssertNil(g.spare)
        var u64 = [Double](repeating: 0, count: 3)
        u64.withUnsafeMutableBufferPointer { Distributions.uniform($0, from: -1, to: 1, &g) }
        XCTAssertEqual(u64.map(\.bitPattern), [0xbfe643920895f61a, 0xbfde13022208e820, 0xbfe7a6fa47b5e438])
    }

    func testNegativeAndWrappedSeeds() {
        for seed in [UInt64(bitPattern: -1), 0xFFFF_FFFF] {
            var g = CPUGenerator(seed: seed)
            var u = [Float](repeating: 0, count: 4)
            u.withUnsafeMutableBufferPointer { Distributions.uniform($0, from: 0, to: 1, &g) }
            XCTAssertEqual(u.map(\.bitPattern), [0x3f7e69a3, 0x3f124122, 0x3f11ec0c, 0x3d4ac470])
        }
    }
}

final class ErfinvTests: XCTestCase {
    func testSpecialValues() {
        XCTAssertEqual(erfinv(0), 0)
        XCTAssertEqual(erfinv(-0.0).sign, .minus)
        XCTAssertEqual(erfinv(1), .infinity)
        XCTAssertEqual(erfinv(-1), -.infinity)
        XCTAssertTrue(erfinv(1.5).isNaN)
        XCTAssertTrue(erfinv(.nan).isNaN)
    }

    /// erf(erfinv(y)) round trip in double (the torch comparison lives in TorchInitTests).
    func testRoundTrip() {
        var y = -0.999999
        while y < 1 {
            let x = erfinv(y)
            XCTAssertEqual(erf(x), y, accuracy: 4 * y.ulp.magnitude + 1e-300, "y=\(y)")
            y += 0.0123
        }
        for k in 1..<52 {
            let y = 1 - Double(sign: .plus, exponent: -k, significand: 1)
            XCTAssertEqual(erfc(erfinv(y)), 1 - y, accuracy: (1 - y) * 1e-14)
        }
    }
}

final class MT19937JumpTests: XCTestCase {
    /// jump(n) leaves exactly the state n sequential draws leave (state words, index, and the following outputs).
    func testJumpMatchesSequential() {
        let lengths = [0, 1, 2, 623, 624, 625, 1247, 1248, 1249, 19_937, 20_000, 624 * 33 - 1, 624 * 33, 100_003,
                       (1 << 20) + 7]
        for seed: UInt64 in [0, 99] {
            for n in lengths {
                for pre in [0, 1, 397, 623, 624] {
                    var a = MT19937(seed: seed)
                    for _ in 0..<pre { _ = a.next() }
                    var b = a
                    a.skipSequential(n)
                    b.jump(n)
                    XCTAssertEqual(a.stateWords, b.stateWords, "seed=\(seed) n=\(n) pre=\(pre)")
                    XCTAssertEqual(a.remainingInBlock, b.remainingInBlock, "seed=\(seed) n=\(n) pre=\(pre)")
                    for _ in 0..<630 { XCTAssertEqual(a.next(), b.next()) }
                }
            }
        }
    }

    /// ~2³³ draws: the reference is C++ `std::mt19937(42).discard(8589934597)` followed by four draws.
    func testJumpTwoToThe33() {
        var g = MT19937(seed: 42)
        g.jump(8_589_934_597)
        XCTAssertEqual((0..<4).map { _ in g.next() }, MT19937JumpTests.ref33)
        // the same in two jumps of other lengths, and through skip (which picks jump above its threshold)
        var h = MT19937(seed: 42)
        h.jump(5_000_000_000)
        h.skip(3_589_934_597)
        XCTAssertEqual((0..<4).map { _ in h.next() }, MT19937JumpTests.ref33)
    }
    static let ref33: [UInt32] = [3_389_725_287, 4_178_451_487, 1_997_835_849, 2_521_835_671]

    /// Jumps compose: jump(a) then jump(b) equals jump(a + b), for long random lengths.
    func testJumpsCompose() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<4 {
            let a = Int.random(in: 0..<(1 << 36), using: &rng), b = Int.random(in: 0..<(1 << 30), using: &rng)
            var x = MT19937(seed: 7), y = x
            x.jump(a); x.jump(b)
            y.jump(a + b)
            XCTAssertEqual(x.stateWords, y.stateWords, "a=\(a) b=\(b)")
            XCTAssertEqual(x.next(), y.next())
        }
    }

    /// The generator's spare is state, not a draw: a jump leaves it as it is, and the per-element normal path
    /// after a jump returns it first, exactly as after sequential draws.
    func testSpareSurvivesJump() {
        var a = CPUGenerator(seed: 3)
        var five = [Float](repeating: 0, count: 5)
        five.withUnsafeMutableBufferPointer { Distributions.normal($0, mean: 0, std: 1, &a) }  // leaves a spare
        XCTAssertNotNil(a.spare)
        var b = a
        a.engine.skipSequential(3_000_017)
        b.skip(3_000_017)
        XCTAssertEqual(a.spare, b.spare)
        var x = [Float](repeating: 0, count: 3), y = x
        x.withUnsafeMutableBufferPointer { Distributions.normal($0, mean: 0, std: 1, &a) }
        y.withUnsafeMutableBufferPointer { Distributions.normal($0, mean: 0, std: 1, &b) }
        XCTAssertEqual(x, y)
        XCTAssertEqual(a.engine.stateWords, b.engine.stateWords)
    }
}

/// The fast (8-wide, tiled) kernels against the scalar reference, bit for bit, over many sizes, stream offsets and seeds.
final class FastKernelTests: XCTestCase {
    static let sizes = Array(0...70) + [127, 128, 129, 623, 624, 625, 1000, 1247, 1249, 4095, 4096, 4097, 4111, 8192 + 17,
                                        12_345, 65_537]
    static let offsets = [0, 1, 7, 8, 397, 623]

    func testTwist8MatchesTwist() {
        var g = MT19937(seed: 11)
        for _ in 0..<5 {
            _ = g.next()
            var a = g.stateWords, b = a
            a.withUnsafeMutableBufferPointer { MT19937.twist($0.baseAddress!) }
            b.withUnsafeMutableBufferPointer { MT19937.twist8($0.baseAddress!) }
            XCTAssertEqual(a, b)
            g.skipSequential(624)
        }
    }

    func testFillWordsMatchesNext() {
        for n in [0, 1, 9, 623, 624, 625, 2000] {
            for pre in Self.offsets {
                var a = MT19937(seed: 5)
                for _ in 0..<pre { _ = a.next() }
                var b = a
                var w = [UInt32](repeating: 0, count: n)
                w.withUnsafeMutableBufferPointer { b.fillWords($0.baseAddress!, n) }
                XCTAssertEqual(w, (0..<n).map { _ in a.next() })
                XCTAssertEqual(a.stateWords, b.stateWords)
            }
        }
    }

    private func check(_ name: String, _ fast: (UnsafeMutableBufferPointer<Float>, inout CPUGenerator) -> Void,
                       _ ref: (UnsafeMutableBufferPointer<Float>, inout CPUGenerator) -> Void) {
        for seed: UInt64 in [0, 42] {
            for pre in Self.offsets {
                var g = CPUGenerator(seed: seed)
                g.skip(pre)
                for n in Self.sizes {
                    var h = g
                    var x = [Float](repeating: 0, count: n), y = x
                    x.withUnsafeMutableBufferPointer { fast($0, &g) }
                    y.withUnsafeMutableBufferPointer { ref($0, &h) }
                    XCTAssertEqual(x.map(\.bitPattern), y.map(\.bitPattern), "\(name) seed=\(seed) pre=\(pre) n=\(n)")
                    XCTAssertEqual(g.engine.stateWords, h.engine.stateWords, "\(name) seed=\(seed) pre=\(pre) n=\(n)")
                    XCTAssertEqual(g.engine.remainingInBlock, h.engine.remainingInBlock)
                    XCTAssertEqual(g.spare, h.spare)
                }
            }
        }
    }

    func testUniformMatchesReference() {
        check("uniform", { Distributions.uniform($0, from: -0.37, to: 0.81, &$1) },
              { Distributions.uniformReference($0, from: -0.37, to: 0.81, &$1) })
        // a range where the clamp (v == to → from) fires
        check("uniform-clamp", { Distributions.uniform($0, from: 1.0, to: Double(Float(1).nextUp), &$1) },
              { Distributions.uniformReference($0, from: 1.0, to: Double(Float(1).nextUp), &$1) })
    }

    func testNormalMatchesReference() {
        check("normal", { Distributions.normal($0, mean: 0.1, std: 0.7, &$1) },
              { Distributions.normalReference($0, mean: 0.1, std: 0.7, &$1) })
    }
}

/// The fill split across threads (`ParallelFill`): the same bytes and final generator state as the serial kernel,
/// at every thread count, for sizes around the part boundaries, block-of-16 tails and stream offsets.
final class ParallelFillTests: XCTestCase {
    override func tearDown() {
        ParallelFill.workers = 1
        ParallelFill.minElements = 1 << 18
        ParallelFill.partElements = 1 << 17
    }

    func testSplitFillsMatchSerial() {
        ParallelFill.minElements = 16
        let sizes = [16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 100, 623, 624, 625, 1000, 4097, 10_007, 65_536]
        for workers in [2, 3, 4, 7] {
            ParallelFill.workers = workers
            for pre in [0, 5, 623] {
                for n in sizes {
                    assertFillsMatchReferences(seed: 77, pre: pre, n: n, normal: (-0.3, 2), uniform: (-2, 5), "workers=\(workers)")
                }
            }
        }
    }

    /// Parts longer than `MT19937.jumpThreshold` (and a start state with a pending skip that long): each part's words
    /// are still recorded as its thread twists through them, and the first part's start is settled by a jump.
    func testSplitWithLongParts() {
        ParallelFill.workers = 2
        ParallelFill.minElements = 8192
        ParallelFill.partElements = 3000
        MT19937.jumpThreshold = 1000
        defer { MT19937.jumpThreshold = 1 << 22 }
        let n = 2 * (MT19937.jumpThreshold + 4099)
        var x = [Float](repeating: 0, count: n), y = x
        var g = CPUGenerator(seed: 1)
        g.skip(3 * MT19937.jumpThreshold + 5)
        var h = g
        x.withUnsafeMutableBufferPointer { Distributions.uniform($0, from: 0, to: 1, &g) }
        y.withUnsafeMutableBufferPointer { Distributions.uniformSerial($0, from: 0, to: 1, &h) }
        XCTAssertTrue(x.map(\.bitPattern) == y.map(\.bitPattern))
        XCTAssertEqual(g.engine.stateWords, h.engine.stateWords)
    }
}

/// `CPUGenerator.skip` is lazy (a pending count, applied by one jump or twist run on first use): never observable.
final class LazySkipTests: XCTestCase {
    func testPendingSkipsAreApplied() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<6 {
            var a = CPUGenerator(seed: 8), b = a
            var total = 0
            for _ in 0..<Int.random(in: 1...40, using: &rng) {
                let n = Int.random(in: 0...400_000, using: &rng)
                a.skip(n)
                total += n
            }
            let snapshot = a            // a copy carries the pending count
            b.engine.skipSequential(total)
            XCTAssertEqual(a.pendingSkip, total)
            XCTAssertEqual(a.random(), b.random())
            XCTAssertEqual(a.pendingSkip, 0)
            var c = snapshot
            c.settle()
            XCTAssertEqual(c.pendingSkip, 0)
            var d = snapshot
            XCTAssertEqual(c.engine.stateWords, d.engine.stateWords)
        }
    }
}
