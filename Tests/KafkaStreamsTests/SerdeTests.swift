import Foundation
import KafkaStreams
import Testing

@Suite struct SerdeTests {
    @Test func integersAndDoublesUseKafkasBigEndianLayout() throws {
        #expect(try BigEndianIntegerSerde<Int32>().serialize(Int32(0x0102_0304)) == [1, 2, 3, 4])
        #expect(try BigEndianIntegerSerde<Int64>().serialize(Int64(-2)) == [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe])
        #expect(try BigEndianIntegerSerde<UInt64>().serialize(UInt64(1) << 56) == [1, 0, 0, 0, 0, 0, 0, 0])
        // 1.5 is 0x3FF8000000000000 in IEEE 754.
        #expect(try DoubleSerde().serialize(1.5) == [0x3f, 0xf8, 0, 0, 0, 0, 0, 0])
        #expect(try BigEndianIntegerSerde<Int32>().deserialize([0xff, 0xff, 0xff, 0xff]) == -1)
        #expect(try DoubleSerde().deserialize([0x3f, 0xf8, 0, 0, 0, 0, 0, 0]) == 1.5)
    }

    @Test func stringsAreUTF8AndBytesPassThrough() throws {
        #expect(try StringSerde().serialize("héllo") == Array("héllo".utf8))
        #expect(try StringSerde().deserialize(Array("héllo".utf8)) == "héllo")
        #expect(try BytesSerde().deserialize([0, 255]) == [0, 255])
        #expect(throws: SerdeError.invalidUTF8) { try StringSerde().deserialize([0xff, 0xfe]) }
    }

    @Test func stringsDecodeValidUTF8ByteForByteAndRejectTheRest() throws {
        // Valid: ASCII, two- to four-byte sequences, U+FFFD itself (what a repair would insert).
        for text in ["", "plain", "héllo wörld", "日本語", "🙂 ok", "\u{FFFD}", String(repeating: "ü", count: 100)] {
            #expect(try StringSerde().deserialize(Array(text.utf8)) == text)
        }
        // Invalid: a lone continuation byte, a truncated sequence, an overlong encoding of
        // "/", a UTF-16 surrogate, a code point past U+10FFFF, and a bad byte after valid text.
        let invalid: [[UInt8]] = [[0x80], [0xC3], [0x61, 0xE6, 0x97], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], Array("ok".utf8) + [0xFF]]
        for bytes in invalid {
            #expect(throws: SerdeError.invalidUTF8, "\(bytes)") { try StringSerde().deserialize(bytes) }
        }
    }

    @Test func wrongSizesAndNullsAreTypedErrors() throws {
        #expect(throws: SerdeError.wrongSize(expected: 8, actual: 3)) { try BigEndianIntegerSerde<Int64>().deserialize([1, 2, 3]) }
        #expect(throws: SerdeError.unexpectedNull) { try StringSerde().deserialize(nil as [UInt8]?) }
    }

    @Test func optionalSerdesMapNullToNilBothWays() throws {
        let serde = OptionalSerde(StringSerde())
        #expect(try serde.deserialize(nil as [UInt8]?) == nil)
        #expect(try serde.serialize(nil as String?) == nil)
        #expect(try serde.serialize("") == [])
        #expect(try serde.deserialize([UInt8]()) == "")
    }

    struct Click: Codable, Equatable { var user: String; var page: String }

    @Test func jsonRoundTripsCodableValuesAndRejectsGarbage() throws {
        let serde = JSONSerde(Click.self)
        let click = Click(user: "u1", page: "/home")
        let bytes = try #require(try serde.serialize(click))
        #expect(try serde.deserialize(bytes) == click)
        let error = #expect(throws: SerdeError.self) { try serde.deserialize(Array("{\"user\":1}".utf8)) }
        guard case .invalidJSON = error else {
            Issue.record("expected invalidJSON, got \(String(describing: error))")
            return
        }
    }
}
