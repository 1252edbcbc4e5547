import ArgumentParser
import Foundation
import Testing

@testable import Saasctl

/// The config file: `key = value` lines, refused when it holds a key others may read.
@Suite struct ConfigFileTests {
    static func write(_ text: String, mode: Int) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("saasctl-config-\(UUID().uuidString)").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    @Test func parsesKeysCommentsQuotesAndCRLF() throws {
        let text = "# saasctl\r\nurl = http://api:8003\r\n\n  admin_key=\"sk-admin-abc = def\"  \nteam_key =\tsk-team\n"
        let file = try ConfigFile.parse(text, path: "cfg")
        #expect(file == ConfigFile(url: "http://api:8003", adminKey: "sk-admin-abc = def", teamKey: "sk-team"))
        #expect(file.holdsKey)
        #expect(try ConfigFile.parse("", path: "cfg") == ConfigFile())
    }

    @Test(arguments: [
        ("url http://x", "cfg:1: expected `key = value`"),
        ("# ok\nadmin-key = x", "cfg:2: unknown key 'admin-key' (known: url, admin_key, team_key)"),
        ("url = a\nurl = b", "cfg:2: 'url' is set twice"),
        ("team_key =", "cfg:1: 'team_key' has no value"),
    ])
    func refusesMistakesByLine(text: String, message: String) {
        #expect(throws: CommandFailure.usage(message)) { try ConfigFile.parse(text, path: "cfg") }
    }

    @Test func aMistakeNeverEchoesAValue() {
        do {
            _ = try ConfigFile.parse("admin_key sk-secret-value", path: "cfg")
            Issue.record("parsed")
        } catch {
            #expect(!error.message.contains("sk-secret-value"))
        }
    }

    @Test func aFileWithAKeyReadableByOthersIsRefused() throws {
        for mode in [0o644, 0o640, 0o604, 0o660, 0o601] {
            let path = try Self.write("admin_key = sk-admin-x\n", mode: mode)
            defer { try? FileManager.default.removeItem(atPath: path) }
            do {
                _ = try ConfigFile.load(path: path, required: true)
                Issue.record("mode \(String(mode, radix: 8)) accepted")
            } catch {
                #expect(error.status == .usage)
                #expect(error.message.contains("chmod 600 \(path)"))
                #expect(error.message.contains("0\(String(mode, radix: 8))"))
                #expect(!error.message.contains("sk-admin-x"))
            }
        }
    }

    @Test func aPrivateFileWithAKeyOrAPublicFileWithoutOneIsRead() throws {
        let secret = try Self.write("team_key = sk-team-x\n", mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: secret) }
        #expect(try ConfigFile.load(path: secret, required: true)?.teamKey == "sk-team-x")
        let plain = try Self.write("url = http://api:1\n", mode: 0o644)
        defer { try? FileManager.default.removeItem(atPath: plain) }
        #expect(try ConfigFile.load(path: plain, required: true)?.url == "http://api:1")
    }

    @Test func aMissingFileIsFineUnlessNamed() throws {
        let path = "/nonexistent/saasctl/config"
        #expect(try ConfigFile.load(path: path, required: false) == nil)
        #expect(throws: CommandFailure.self) { try ConfigFile.load(path: path, required: true) }
    }

    @Test func aHugeOrBinaryFileIsRefused() throws {
        let huge = try Self.write(String(repeating: "# padding\n", count: 10_000), mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: huge) }
        #expect(throws: CommandFailure.self) { try ConfigFile.load(path: huge, required: true) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("saasctl-bin-\(UUID().uuidString)").path
        try Data([0xFF, 0xFE, 0x00]).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: CommandFailure.self) { try ConfigFile.load(path: path, required: true) }
    }

    @Test func optionsThenEnvironmentThenFile() throws {
        let path = try Self.write("url = http://file:1\nadmin_key = sk-file-admin\nteam_key = sk-file-team\n", mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var options = try ConnectionOptions.parse(["--config", path])
        var settings = try options.resolve(environment: [:])
        #expect(settings.baseURL.text == "http://file:1")
        #expect(settings.adminKey == "sk-file-admin")
        #expect(settings.teamKey == "sk-file-team")
        settings = try options.resolve(environment: ["SAASCTL_URL": "http://env:2", "SAAS_ADMIN_KEY": "sk-env-admin", "SAAS_TEAM_KEY": "sk-env-team"])
        #expect(settings.baseURL.text == "http://env:2")
        #expect(settings.adminKey == "sk-env-admin")
        #expect(settings.teamKey == "sk-env-team")
        options = try ConnectionOptions.parse(["--config", path, "--url", "http://flag:3"])
        #expect(try options.resolve(environment: ["SAASCTL_URL": "http://env:2"]).baseURL.text == "http://flag:3")
        // No file, no environment: the default URL and no keys.
        let bare = try ConnectionOptions.parse([]).resolve(environment: ["HOME": "/nonexistent"])
        #expect(bare.baseURL.text == ConnectionOptions.defaultURL)
        #expect(bare.adminKey == nil)
        #expect(throws: CommandFailure(.authFailed, "no admin key: set SAAS_ADMIN_KEY or `admin_key` in the config file")) {
            try bare.requireAdminKey()
        }
    }

    @Test(arguments: ["sk-admin-secret\r", "sk-admin secret", "sk-admin-secret\t", "sk-admin-\u{7F}", "sk-admin-é", "\u{200B}sk-admin-secret"])
    func aKeyThatIsNotVisibleASCIIIsRefusedNamingItsSourceNotItsValue(bad: String) throws {
        let options = try ConnectionOptions.parse([])
        for variable in ["SAAS_ADMIN_KEY", "SAAS_TEAM_KEY"] {
            do {
                _ = try options.resolve(environment: ["HOME": "/nonexistent", variable: bad])
                Issue.record("\(variable) accepted")
            } catch {
                #expect(error.status == .usage)
                #expect(error.message.contains("environment variable \(variable)"), "\(error.message)")
                #expect(!error.message.contains("sk-admin"), "\(error.message)")
            }
        }
    }

    @Test func aKeyInTheFileThatIsNotVisibleASCIIIsRefusedNamingTheFile() throws {
        let path = try Self.write("url = http://file:1\nteam_key = \"sk-team-se\tcret\"\n", mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let options = try ConnectionOptions.parse(["--config", path])
        do {
            _ = try options.resolve(environment: [:])
            Issue.record("accepted")
        } catch {
            #expect(error.status == .usage)
            #expect(error.message.contains("`team_key` in config file \(path)"), "\(error.message)")
            #expect(!error.message.contains("sk-team-se"), "\(error.message)")
        }
        // The environment's key is the one used: the file's is then not looked at.
        #expect(try options.resolve(environment: ["SAAS_TEAM_KEY": "sk-team-env"]).teamKey == "sk-team-env")
        #expect(ConnectionOptions.isSendableKey("sk-AZaz09!~._-+/="))
        #expect(!ConnectionOptions.isSendableKey("sk-\r"))
    }

    @Test func theDefaultPathFollowsXDG() {
        #expect(ConnectionOptions.defaultConfigPath(["HOME": "/home/a"]) == "/home/a/.config/saasctl/config")
        #expect(ConnectionOptions.defaultConfigPath(["HOME": "/home/a", "XDG_CONFIG_HOME": "/cfg"]) == "/cfg/saasctl/config")
        #expect(ConnectionOptions.defaultConfigPath([:]) == nil)
    }
}
