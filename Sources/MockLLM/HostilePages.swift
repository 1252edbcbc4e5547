/// The fixed texts of the hostile mode: web pages where JSON belongs, and the 10 MB content.
enum HostilePages {
    /// What nginx answers when the service behind it is down.
    static let badGateway =
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n"
        + "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

    /// What a captive portal or a login wall answers, with a 200.
    static let signIn =
        "<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Please sign in to continue</h1>"
        + "<form action=\"/login\" method=\"post\"><input name=\"user\"><input name=\"password\" type=\"password\"></form></body></html>"

    /// About 10 MB of content as a quoted JSON string: the size of the answer, not its token count
    /// (which stays small), is what a client has to bound. Built once, on first use.
    static let hugeContent: [UInt8] = {
        let sentence = Array("This answer is much longer than anything a model was asked for. ".utf8)
        var bytes: [UInt8] = [UInt8(ascii: "\"")]
        bytes.reserveCapacity(10_000_000 + sentence.count + 2)
        while bytes.count < 10_000_000 { bytes.append(contentsOf: sentence) }
        bytes.append(UInt8(ascii: "\""))
        return bytes
    }()
}
