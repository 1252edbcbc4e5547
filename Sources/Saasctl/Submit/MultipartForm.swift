import Foundation
import NIOCore

/// A `multipart/form-data` body (RFC 7578) with the two parts a document submit takes: `job`
/// (the submit's JSON fields) and `file` (the document, named as on disk).
struct MultipartForm {
    let boundary: String
    private(set) var body = ByteBuffer()

    init(boundary: String = "saasctl-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()) {
        self.boundary = boundary
    }

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    mutating func field(_ name: String, contentType: String, _ bytes: some Sequence<UInt8>) {
        part(headers: [#"Content-Disposition: form-data; name="\#(name)""#, "Content-Type: \(contentType)"], bytes)
    }

    /// A file part: the name as an ASCII `filename` (anything else replaced by `_`) and exactly
    /// as RFC 5987's `filename*`, which the API prefers.
    mutating func file(_ name: String, fileName: String, _ bytes: some Sequence<UInt8>) {
        let ascii = String(
            String.UnicodeScalarView(
                fileName.unicodeScalars.map { scalar in
                    (0x20..<0x7F).contains(scalar.value) && scalar != "\"" && scalar != "\\" ? scalar : "_"
                }
            )
        )
        let encoded = fileName.addingPercentEncoding(withAllowedCharacters: Self.attributeCharacters) ?? ascii
        let disposition = #"Content-Disposition: form-data; name="\#(name)"; filename="\#(ascii)"; filename*=UTF-8''\#(encoded)"#
        part(headers: [disposition, "Content-Type: application/octet-stream"], bytes)
    }

    /// The body, closed.
    func finished() -> ByteBuffer {
        var out = body
        out.writeString("--\(boundary)--\r\n")
        return out
    }

    private mutating func part(headers: [String], _ bytes: some Sequence<UInt8>) {
        body.writeString("--\(boundary)\r\n")
        for header in headers { body.writeString(header + "\r\n") }
        body.writeString("\r\n")
        body.writeBytes(bytes)
        body.writeString("\r\n")
    }

    /// RFC 5987 `attr-char`.
    private static let attributeCharacters = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$&+-.^_`|~"
    )
}
