import Foundation

/// Where values lie in the raw bytes of a body already known to be valid JSON, so that parts of
/// it can be decoded on their own (a batch's jobs, each as a single submit's body).
enum JSONSlices {
    /// The byte ranges (from the start of `data`) of the elements of the array under `key` in the
    /// top-level object — the first such key, the one Foundation's decoder keeps. Nil when there
    /// is no such array.
    static func arrayElements(under key: String, in data: Data) -> [Range<Int>]? {
        data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var i = skipSpace(bytes, 0)
            guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { return nil }
            i += 1
            while true {
                i = skipSpace(bytes, i)
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
                let keyEnd = stringEnd(bytes, i)
                let matches = Self.key(bytes, i..<keyEnd, is: key)
                i = skipSpace(bytes, keyEnd)
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
                i = skipSpace(bytes, i + 1)
                if matches {
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "[") else { return nil }
                    return elements(bytes, from: i)
                }
                i = skipSpace(bytes, valueEnd(bytes, i))
                guard i < bytes.count, bytes[i] == UInt8(ascii: ",") else { return nil }
                i += 1
            }
        }
    }

    /// The elements of the array whose `[` is at `open`.
    private static func elements(_ bytes: UnsafeBufferPointer<UInt8>, from open: Int) -> [Range<Int>]? {
        var ranges: [Range<Int>] = []
        var i = skipSpace(bytes, open + 1)
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { return [] }
        while i < bytes.count {
            let end = valueEnd(bytes, i)
            ranges.append(i..<end)
            i = skipSpace(bytes, end)
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: "]") { return ranges }
            guard bytes[i] == UInt8(ascii: ",") else { return nil }
            i = skipSpace(bytes, i + 1)
        }
        return nil
    }

    /// Whether the key string at `range` (quotes included) reads `key`; escaped keys are decoded.
    private static func key(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, is key: String) -> Bool {
        let raw = UnsafeBufferPointer(rebasing: bytes[range])
        guard raw.contains(UInt8(ascii: "\\")) else {
            return raw.count == key.utf8.count + 2 && raw.dropFirst().dropLast().elementsEqual(key.utf8)
        }
        return (try? JSONDecoder().decode(String.self, from: Data(raw))) == key
    }

    /// Just past the value starting at `start`.
    private static func valueEnd(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int {
        guard start < bytes.count else { return start }
        switch bytes[start] {
        case UInt8(ascii: "\""):
            return stringEnd(bytes, start)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var i = start
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\""):
                    i = stringEnd(bytes, i)
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return i + 1 }
                default:
                    break
                }
                i += 1
            }
            return i
        default:
            var i = start
            while i < bytes.count, !isDelimiter(bytes[i]) { i += 1 }
            return i
        }
    }

    /// Just past the closing quote of the string whose opening quote is at `start`.
    private static func stringEnd(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int {
        var i = start + 1
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "\\"): i += 2
            case UInt8(ascii: "\""): return i + 1
            default: i += 1
            }
        }
        return i
    }

    private static func skipSpace(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int {
        var i = start
        while i < bytes.count, isSpace(bytes[i]) { i += 1 }
        return i
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }

    private static func isDelimiter(_ byte: UInt8) -> Bool {
        isSpace(byte) || byte == UInt8(ascii: ",") || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}")
    }
}
