import Foundation
import XCTest

@testable import JSON

final class JSONCodecParseTests: XCTestCase {
    private func parseError(_ text: String, maxDepth: Int = 64, file: StaticString = #filePath, line: UInt = #line)
        -> JSONParseError?
    {
        do {
            let v = try JSONCodec.parse(text, maxDepth: maxDepth)
            XCTFail("expected an error, got \(v)", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func testScalarsAtRoot() throws {
        XCTAssertEqual(try JSONCodec.parse("null"), .null)
        XCTAssertEqual(try JSONCodec.parse("true"), .bool(true))
        XCTAssertEqual(try JSONCodec.parse(" false "), .bool(false))
        XCTAssertEqual(try JSONCodec.parse("42"), .int(42))
        XCTAssertEqual(try JSONCodec.parse("-7"), .int(-7))
        XCTAssertEqual(try JSONCodec.parse("2.5"), .double(2.5))
        XCTAssertEqual(try JSONCodec.parse("\"hi\""), .string("hi"))
        XCTAssertEqual(try JSONCodec.parse("[]"), .array([]))
        XCTAssertEqual(try JSONCodec.parse("{}"), .object([:]))
    }

    func testIntVersusDouble() throws {
        let v = try JSONCodec.parse(#"[1, 1.0, 1e2, 1E2, -0, 0.5, 9007199254740993, 9223372036854775807, -9223372036854775808]"#)
        XCTAssertEqual(
            v,
            .array([
                .int(1), .double(1.0), .double(100), .double(100), .int(0), .double(0.5),
                .int(9_007_199_254_740_993), .int(Int64.max), .int(Int64.min),
            ]))
        XCTAssertNotEqual(JSONValue.int(1), JSONValue.double(1.0))
        XCTAssertEqual(JSONCodec.serialize(v), "[1,1.0,100.0,100.0,0,0.5,9007199254740993,9223372036854775807,-9223372036854775808]")
    }

    func testBigIntegerIsAnError() {
        guard let e = parseError("{\"seed\":\n  9223372036854775808}") else { return }
        XCTAssertEqual(e.line, 2)
        XCTAssertEqual(e.column, 21)
        XCTAssertTrue(e.message.contains("too big integer"), e.message)
        XCTAssertTrue(e.description.hasPrefix("line 2, column 21: too big integer"), e.description)
        guard let neg = parseError("-9223372036854775809") else { return }
        XCTAssertTrue(neg.message.contains("too big negative integer"), neg.message)
        guard let real = parseError("1e400") else { return }
        XCTAssertTrue(real.message.contains("overflow"), real.message)
    }

    func testKeyOrderKept() throws {
        let v = try JSONCodec.parse(#"{"z":1,"a":2,"m":{"y":true,"b":null},"c":[3]}"#)
        XCTAssertEqual(v.objectValue?.keys, ["z", "a", "m", "c"])
        XCTAssertEqual(v.objectValue?["m"]?.objectValue?.keys, ["y", "b"])
        XCTAssertEqual(JSONCodec.serialize(v), #"{"z":1,"a":2,"m":{"y":true,"b":null},"c":[3]}"#)
        // many keys: jansson's hashtable must still hand them back in insertion order
        let keys = (0..<500).map { "k\(($0 * 7919) % 1000)" }
        let doc = "{" + keys.enumerated().map { "\"\($1)\":\($0)" }.joined(separator: ",") + "}"
        let big = try JSONCodec.parse(doc)
        XCTAssertEqual(big.objectValue?.keys, keys)
        XCTAssertEqual(JSONCodec.serialize(big), doc)
    }

    func testDuplicateKeyRejected() {
        guard let e = parseError("{\n  \"a\": 1,\n  \"a\": 2\n}") else { return }
        XCTAssertEqual(e.line, 3)
        XCTAssertEqual(e.column, 5)
        XCTAssertEqual(e.message, "duplicate object key near '\"a\"'")
        XCTAssertEqual(e.description, "line 3, column 5: duplicate object key near '\"a\"'")
        // nested objects too; same key at different levels is fine
        XCTAssertNotNil(parseError(#"{"x":{"b":1,"b":1}}"#))
        XCTAssertNoThrow(try JSONCodec.parse(#"{"a":{"a":{"a":1}}}"#))
    }

    func testMalformedLocation() {
        guard let e = parseError("{\n  \"b\":\n    [1,2,,3]}") else { return }
        XCTAssertEqual(e.line, 3)
        XCTAssertEqual(e.column, 10)
        XCTAssertEqual(e.position, 19)  // bytes consumed, up to and including the bad token
        XCTAssertEqual(e.message, "unexpected token near ','")
        // the research note's example: same document with other whitespace
        guard let e2 = parseError("{\n\"b\":\n           [1,2,,3]}") else { return }
        XCTAssertEqual(e2.line, 3)
        XCTAssertEqual(e2.column, 17)
        // columns count characters, not bytes
        guard let e3 = parseError("{\"é€\": x}") else { return }
        XCTAssertEqual(e3.line, 1)
        XCTAssertEqual(e3.column, 8)
        XCTAssertEqual(e3.position, 11)
    }

    func testOtherMalformedInputs() {
        for bad in ["", "   ", "[1,]", "{\"a\"}", "[1] x", "{\"a\":1,}", "'a'", "[1 2]", "nul", "01", "+1", ".5", "[\"a\nb\"]", "{1:2}"] {
            XCTAssertThrowsError(try JSONCodec.parse(bad), "should reject \(bad.debugDescription)")
        }
        let empty = parseError("")
        XCTAssertEqual(empty?.line, 1)
    }

    func testNULAndInvalidUTF8Rejected() {
        guard let e = parseError(#"["a\u0000b"]"#) else { return }
        XCTAssertTrue(e.message.contains("\\u0000 is not allowed"), e.message)
        XCTAssertThrowsError(try JSONCodec.parse(#"{"a\u0000":1}"#))
        XCTAssertThrowsError(try JSONCodec.parse([UInt8(ascii: "\""), 0x00, UInt8(ascii: "\"")]))
        XCTAssertThrowsError(try JSONCodec.parse([UInt8(ascii: "\""), 0xFF, UInt8(ascii: "\"")])) { error in
            XCTAssertTrue((error as? JSONParseError)?.message.contains("unable to decode byte 0xff") ?? false, "\(error)")
        }
        XCTAssertThrowsError(try JSONCodec.parse([UInt8(ascii: "\""), 0xC3, UInt8(ascii: "\"")]))  // truncated
        XCTAssertThrowsError(try JSONCodec.parse(Array("\"\u{ED}\"".utf8).prefix(2) + [0xA0, 0x80, 0x22]))  // surrogate
        XCTAssertThrowsError(try JSONCodec.parse(#"["\ud800"]"#))  // lone surrogate escape
    }

    func testDepthBound() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        XCTAssertNoThrow(try JSONCodec.parse(ok))
        let tooDeep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        guard let e = parseError(tooDeep) else { return }
        XCTAssertEqual(e.message, "maximum nesting depth 64 exceeded")
        XCTAssertEqual(e.line, 1)
        XCTAssertEqual(e.column, 65)
        XCTAssertEqual(e.position, 65)
        // objects count too; brackets inside strings do not
        let objects = String(repeating: "{\"a\":", count: 3) + "1" + String(repeating: "}", count: 3)
        XCTAssertNoThrow(try JSONCodec.parse(objects, maxDepth: 3))
        XCTAssertNotNil(parseError(objects, maxDepth: 2))
        XCTAssertNoThrow(try JSONCodec.parse(#"[["[[[[\"[[[", "{{{{"]]"#, maxDepth: 2))
        XCTAssertEqual(parseError("[[\n [1]]]", maxDepth: 2).map { [$0.line, $0.column, $0.position] }, [2, 2, 5])
        XCTAssertNoThrow(try JSONCodec.parse("1", maxDepth: 0))
        XCTAssertNotNil(parseError("[]", maxDepth: 0))
        // jansson's own limit (2048) still applies with a larger maxDepth
        let deep2048 = String(repeating: "[", count: 2048) + String(repeating: "]", count: 2048)
        XCTAssertNoThrow(try JSONCodec.parse(deep2048, maxDepth: 5000))
        XCTAssertNotNil(parseError("[" + deep2048 + "]", maxDepth: 5000))
    }

    func testHugeNestingFailsFast() {
        let start = Date()
        for count in [100_000, 1_000_000] {
            let open = [UInt8](repeating: UInt8(ascii: "["), count: count)
            XCTAssertThrowsError(try JSONCodec.parse(open))
            XCTAssertThrowsError(try JSONCodec.parse(open, maxDepth: 1_000_000))  // jansson's 2048 limit
            let objects = String(repeating: "{\"a\":", count: count)
            XCTAssertThrowsError(try JSONCodec.parse(objects))
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
    }

    func testUnicodeAndEscapes() throws {
        let v = try JSONCodec.parse(#"["\"\\\/\b\f\n\r\t", "\u00e9\u20ac\ud83d\ude00", "é€😀", "\u0001\u001f"]"#)
        XCTAssertEqual(v, ["\"\\/\u{08}\u{0C}\n\r\t", "é€😀", "é€😀", "\u{01}\u{1F}"])
        XCTAssertEqual(
            JSONCodec.serialize(v), #"["\"\\/\b\f\n\r\t","é€😀","é€😀","\u0001\u001f"]"#)
        let keyed = try JSONCodec.parse(#"{"ключ":"значение","a\"b":"\u007f"}"#)
        XCTAssertEqual(keyed.objectValue?.keys, ["ключ", "a\"b"])
        XCTAssertEqual(try JSONCodec.parse(JSONCodec.serialize(keyed)), keyed)
    }

    func testParseEntryPointsAgree() throws {
        let text = #"{"a":[1,2.5,"x"]}"#
        let bytes = Array(text.utf8)
        let fromBuffer = try bytes.withUnsafeBytes { try JSONCodec.parse($0) }
        XCTAssertEqual(try JSONCodec.parse(text), fromBuffer)
        XCTAssertEqual(try JSONCodec.parse(bytes), fromBuffer)
        XCTAssertThrowsError(try JSONCodec.parse(UnsafeRawBufferPointer(start: nil, count: 0)))
        // a bridged / non-contiguous string still works
        let bridged = NSString(string: text) as String
        XCTAssertEqual(try JSONCodec.parse(bridged), fromBuffer)
    }

    func testConcurrentParsing() {
        let doc = #"{"a":[1,2,3],"b":{"c":"d","e":[true,false,null]},"f":1.5}"#
        DispatchQueue.concurrentPerform(iterations: 200) { i in
            let v = try? JSONCodec.parse(doc)
            XCTAssertEqual(v?[JSONPointer(["b", "c"])], .string("d"))
            XCTAssertEqual(v.map { JSONCodec.serialize($0) }, doc)
        }
    }
}

final class JSONCodecSerializeTests: XCTestCase {
    func testDoubles() {
        let cases: [(Double, String)] = [
            (5.0, "5.0"), (0.1, "0.1"), (1e-5, "1e-05"), (1.0 / 3.0, "0.3333333333333333"), (-0.0, "-0.0"),
            (1e16, "1e+16"), (123456789.0, "123456789.0"), (2.5e-300, "2.5e-300"), (Double.greatestFiniteMagnitude, "1.7976931348623157e+308"),
            (Double.leastNonzeroMagnitude, "5e-324"), (-1.5, "-1.5"), (100, "100.0"),
        ]
        for (d, text) in cases {
            XCTAssertEqual(JSONCodec.serialize(.double(d)), text)
            XCTAssertEqual(try JSONCodec.parse(text), .double(d), text)
        }
    }

    func testNonFiniteBecomesNull() throws {
        let v: JSONValue = [.double(.nan), .double(.infinity), .double(-.infinity), .double(.signalingNaN), 1.5]
        let text = JSONCodec.serialize(v)
        XCTAssertEqual(text, "[null,null,null,null,1.5]")
        XCTAssertEqual(try JSONCodec.parse(text), [nil, nil, nil, nil, 1.5])
    }

    func testCompactAndPretty() {
        let v: JSONValue = ["a": [1, 2.0, "x"], "b": [:], "c": [], "d": ["e": nil, "f": true]]
        XCTAssertEqual(JSONCodec.serialize(v), #"{"a":[1,2.0,"x"],"b":{},"c":[],"d":{"e":null,"f":true}}"#)
        XCTAssertEqual(
            JSONCodec.serialize(v, pretty: true),
            """
            {
              "a": [
                1,
                2.0,
                "x"
              ],
              "b": {},
              "c": [],
              "d": {
                "e": null,
                "f": true
              }
            }
            """)
        XCTAssertEqual(JSONCodec.serializeBytes(v), Array(JSONCodec.serialize(v).utf8))
        XCTAssertEqual(JSONCodec.serialize(7, pretty: true), "7")
    }

    func testControlCharactersEscaped() {
        let all = String(String.UnicodeScalarView((0..<0x20).map { Unicode.Scalar(UInt8($0)) }))
        let text = JSONCodec.serialize(.string(all))
        XCTAssertFalse(text.utf8.contains(where: { $0 < 0x20 }))
        XCTAssertTrue(text.hasPrefix(#""\u0000\u0001"#), text)
        XCTAssertThrowsError(try JSONCodec.parse(text))  // our parser rejects \u0000 ...
        let rest = String(all.dropFirst())  // ... everything else round-trips
        XCTAssertEqual(try JSONCodec.parse(JSONCodec.serialize(.string(rest))), .string(rest))
    }

    func testRoundTrips() throws {
        let docs = [
            #"{"model":{"type":"Conv2d","in_channels":3,"kernel_size":[3,3],"bias":true,"init_cfg":[{"type":"Kaiming","a":0.0,"mode":"fan_out"},{"type":"Constant","val":1,"bias":0.0001}]}}"#,
            #"[null,true,false,0,-1,1.5,"",[],{},[[[]]],{"":{"":""}}]"#,
            #""just a string""#,
            "-0.0",
        ]
        for doc in docs {
            let v = try JSONCodec.parse(doc)
            XCTAssertEqual(JSONCodec.serialize(v), doc)
            XCTAssertEqual(try JSONCodec.parse(JSONCodec.serialize(v, pretty: true)), v)
        }
    }
}

final class JSONCodecPythonTests: XCTestCase {
    /// Runs python3 `json.loads` on our output and gets back a type-tagged dump that keeps int vs float,
    /// float bits, key order and code points, then compares with the Swift value.
    func testPythonReadsSerializerOutput() throws {
        let value: JSONValue = [
            "ints": [0, 1, -1, .int(Int64.max), .int(Int64.min), 9_007_199_254_740_993],
            "doubles": [
                1.0, 0.1, 1e-5, 1e-7, .double(.leastNonzeroMagnitude), 1.7976931348623157e308, -0.0, 1e16, 1e22, 123456789.125, .double(1.0 / 3.0),
                .double(2.0 / 3.0), 0.30000000000000004, 6.02214076e23,
            ],
            "nonfinite": [.double(.nan), .double(.infinity)],
            "strings": ["", "plain", "quote\" back\\ slash/", "\n\r\t\u{08}\u{0C}\u{01}\u{1F}\u{7F}", "é€😀 ключ 中文", "\u{2028}\u{2029}"],
            "z_order": ["z": 1, "a": 2, "m": 3],
            "nested": [[[["deep": [true, false, nil]]]]],
            "": "empty key",
        ]
        for pretty in [false, true] {
            let bytes = JSONCodec.serializeBytes(value, pretty: pretty)
            let tagged = try pythonTagged(bytes)
            XCTAssertEqual(tagged, Self.tag(value), "pretty=\(pretty)")
        }
        // also randomized doubles
        var rng = SystemRandomNumberGenerator()
        let doubles: [JSONValue] = (0..<2000).map { i in
            switch i % 3 {
            case 0: .double(Double(bitPattern: rng.next() & ~(0x7FF << 52) | (UInt64.random(in: 1...2046, using: &rng) << 52)))
            case 1: .double(Double.random(in: -1000...1000, using: &rng))
            default: .double(Double(Float.random(in: -1...1, using: &rng)))
            }
        }
        XCTAssertEqual(try pythonTagged(JSONCodec.serializeBytes(.array(doubles))), Self.tag(.array(doubles)))
    }

    static func tag(_ v: JSONValue) -> String {
        switch v {
        case .null: "N"
        case .bool(let b): b ? "T" : "F"
        case .int(let i): "i\(i)"
        case .double(let d): d.isFinite ? "f\(d.bitPattern)" : "N"
        case .string(let s): "s(" + s.unicodeScalars.map { String($0.value) }.joined(separator: ",") + ")"
        case .array(let a): "[" + a.map(tag).joined(separator: ";") + "]"
        case .object(let o): "{" + o.entries.map { tag(.string($0.key)) + ":" + tag($0.value) }.joined(separator: ";") + "}"
        }
    }

    private func pythonTagged(_ json: [UInt8]) throws -> String {
        let script = """
            import json, struct, sys
            def tag(v):
                if v is None: return "N"
                if v is True: return "T"
                if v is False: return "F"
                if isinstance(v, int): return "i%d" % v
                if isinstance(v, float): return "f%d" % struct.unpack("<Q", struct.pack("<d", v))[0]
                if isinstance(v, str): return "s(" + ",".join(str(ord(c)) for c in v) + ")"
                if isinstance(v, list): return "[" + ";".join(tag(x) for x in v) + "]"
                if isinstance(v, dict): return "{" + ";".join(tag(k) + ":" + tag(x) for k, x in v.items()) + "}"
                raise TypeError(type(v))
            def strict(c): raise ValueError("non-standard constant " + c)
            data = sys.stdin.buffer.read()
            sys.stdout.write(tag(json.loads(data.decode("utf-8"), parse_constant=strict)))
            """
        guard let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: FileManager.default.isExecutableFile)
            ?? ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map({ "\($0)/python3" })
            .first(where: FileManager.default.isExecutableFile)
        else { throw XCTSkip("python3 not found") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // write on another thread so a full stdout pipe cannot deadlock us
        let writer = Thread {
            input.fileHandleForWriting.write(Data(json))
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, String(decoding: err, as: UTF8.self))
        return String(decoding: out, as: UTF8.self)
    }
}

final class JSONPointerTests: XCTestCase {
    let doc: JSONValue = [
        "foo": ["bar", "baz"], "": 0, "a/b": 1, "c%d": 2, "e^f": 3, "g|h": 4, "i\\j": 5, "k\"l": 6, " ": 7,
        "m~n": 8, "~1": 9,
    ]

    func testRFC6901Examples() throws {
        func at(_ s: String) -> JSONValue? { JSONPointer(parsing: s).flatMap { doc[$0] } }
        XCTAssertEqual(at(""), doc)
        XCTAssertEqual(at("/foo"), ["bar", "baz"])
        XCTAssertEqual(at("/foo/0"), "bar")
        XCTAssertEqual(at("/"), 0)
        XCTAssertEqual(at("/a~1b"), 1)
        XCTAssertEqual(at("/c%d"), 2)
        XCTAssertEqual(at("/e^f"), 3)
        XCTAssertEqual(at("/g|h"), 4)
        XCTAssertEqual(at("/i\\j"), 5)
        XCTAssertEqual(at("/k\"l"), 6)
        XCTAssertEqual(at("/ "), 7)
        XCTAssertEqual(at("/m~0n"), 8)
        XCTAssertEqual(at("/~01"), 9)  // ~0 then 1 → "~1", not "/"
    }

    func testMissesAndInvalid() {
        XCTAssertNil(doc[JSONPointer(["foo", "2"])])
        XCTAssertNil(doc[JSONPointer(["foo", "-"])])
        XCTAssertNil(doc[JSONPointer(["foo", "01"])])
        XCTAssertNil(doc[JSONPointer(["foo", "-1"])])
        XCTAssertNil(doc[JSONPointer(["foo", "0", "x"])])
        XCTAssertNil(doc[JSONPointer(["nope"])])
        XCTAssertNil(JSONPointer(parsing: "foo"))
        XCTAssertNil(JSONPointer(parsing: "/a~2"))
        XCTAssertNil(JSONPointer(parsing: "/a~"))
    }

    func testDescriptionRoundTrip() throws {
        let p = JSONPointer.root / "model" / "a/b" / "m~n" / 3
        XCTAssertEqual(p.description, "/model/a~1b/m~0n/3")
        XCTAssertEqual(JSONPointer(parsing: p.description), p)
        let v = try JSONCodec.parse(#"{"model":{"a/b":{"m~n":[0,1,2,"x"]}}}"#)
        XCTAssertEqual(v[p], "x")
    }
}

/// String escaping in the writer: RFC 8259's escapes exactly, everything else raw, at every position of long and
/// short strings (the writer counts escapes in one pass and writes through a pointer); jansson reads it all back.
final class JSONWriterEscapeTests: XCTestCase {
    func testEscapesAreExactAndRoundTrip() throws {
        XCTAssertEqual(JSONCodec.serialize(.string("a\"b\\c\n\r\t\u{8}\u{C}\u{1}\u{1F} é✓")),
                       #""a\"b\\c\n\r\t\b\f\u0001\u001f é✓""#)
        XCTAssertEqual(JSONCodec.serialize(.string("")), #""""#)
        var rng = SystemRandomNumberGenerator()
        let alphabet: [Character] = ["a", "\"", "\\", "\n", "\u{1}", "\u{1F}", "é", "✓", " ", "{", "\t", "\u{7F}"]
        for length in [1, 2, 31, 32, 33, 64, 100, 1000, 5000] {
            for _ in 0..<5 {
                let s = String((0..<length).map { _ in alphabet.randomElement(using: &rng)! })
                let json = JSONCodec.serialize(.array([.string(s), .object(JSONObject([(key: s, value: .int(1))]))]))
                XCTAssertFalse(json.utf8.contains { $0 < 0x20 }, "raw control in \(json)")
                XCTAssertEqual(try JSONCodec.parse(json), .array([.string(s), .object(JSONObject([(key: s, value: .int(1))]))]))
            }
        }
    }
}
