import Foundation
import NIOCore

/// A `multipart/form-data` body written by hand (RFC 7578): each part a boundary line, its
/// headers, a blank line and its bytes, CRLF-separated, then the closing boundary. The end-to-end
/// tests build uploads with it rather than with a client library, so that what goes over the wire
/// is exactly what the test says.
struct MultipartBody {
    struct Part {
        var headers: [String]
        var bytes: [UInt8]
    }

    var boundary = "e2e-boundary-\(UUID().uuidString.prefix(12).lowercased())"
    var parts: [Part] = []

    /// The request's `Content-Type`.
    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    /// A field part: `Content-Disposition: form-data; name="<name>"`.
    mutating func field(_ name: String, _ text: String, contentType: String? = "application/json") {
        var headers = [#"Content-Disposition: form-data; name="\#(name)""#]
        if let contentType { headers.append("Content-Type: \(contentType)") }
        parts.append(Part(headers: headers, bytes: Array(text.utf8)))
    }

    /// A file part, with the file name the client gives it.
    mutating func file(_ name: String = "file", fileName: String?, _ bytes: [UInt8], contentType: String = "application/octet-stream") {
        let disposition =
            fileName.map { #"Content-Disposition: form-data; name="\#(name)"; filename="\#($0)""# }
            ?? #"Content-Disposition: form-data; name="\#(name)""#
        parts.append(Part(headers: [disposition, "Content-Type: \(contentType)"], bytes: bytes))
    }

    /// The whole body.
    var buffer: ByteBuffer {
        var out = ByteBuffer()
        for part in parts {
            out.writeString("--\(boundary)\r\n")
            for header in part.headers { out.writeString(header + "\r\n") }
            out.writeString("\r\n")
            out.writeBytes(part.bytes)
            out.writeString("\r\n")
        }
        out.writeString("--\(boundary)--\r\n")
        return out
    }
}
