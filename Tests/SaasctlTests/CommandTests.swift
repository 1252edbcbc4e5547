import ArgumentParser
import Testing

@testable import Saasctl

/// The command line: what each command parses into, and which exit code each kind of ending has.
@Suite struct CommandTests {
    @Test func commandName() {
        #expect(Saasctl.configuration.commandName == "saasctl")
    }

    @Test func teamsCreateParsesItsOptions() throws {
        let parsed = try Saasctl.parseAsRoot([
            "teams", "create", "t1", "--org", "acme", "--model-group", "g1", "--model-group", "g2", "--credits", "100",
            "--budget-mode", "consumption_tokens", "--json", "--url", "http://api:9000",
        ])
        let command = try #require(parsed as? TeamsCommand.Create)
        #expect(command.id == "t1")
        #expect(command.org == "acme")
        #expect(command.modelGroups == ["g1", "g2"])
        #expect(command.credits == 100)
        #expect(command.budgetMode == "consumption_tokens")
        #expect(command.output.json)
        #expect(command.connection.url == "http://api:9000")
    }

    @Test func creditsAdjustTakesANegativeAmount() throws {
        let parsed = try Saasctl.parseAsRoot(["credits", "adjust", "t1", "--credits", "-50", "--reason", "refund"])
        let command = try #require(parsed as? CreditsCommand.Adjust)
        #expect(command.credits == -50)
        #expect(command.reason == "refund")
    }

    @Test func listsTakePagingOptions() throws {
        let parsed = try Saasctl.parseAsRoot(["jobs", "list", "--team", "t1", "--status", "failed", "--limit", "10", "--all"])
        let command = try #require(parsed as? JobsCommand.List)
        #expect(command.team == "t1")
        #expect(command.status == "failed")
        #expect(command.list.limit == 10)
        #expect(command.list.all)
    }

    @Test func queueWithoutASubcommandShowsTheQueue() throws {
        #expect(try Saasctl.parseAsRoot(["queue"]) is QueueCommand.Show)
        #expect(try Saasctl.parseAsRoot(["queue", "--json"]) is QueueCommand.Show)
        #expect(try Saasctl.parseAsRoot(["queue", "pause"]) is QueueCommand.Pause)
        #expect(try Saasctl.parseAsRoot(["queue", "resume"]) is QueueCommand.Resume)
    }

    @Test func workersCommands() throws {
        let drain = try #require(try Saasctl.parseAsRoot(["workers", "drain", "w-1", "--wait", "--timeout", "30"]) as? WorkersCommand.Drain)
        #expect(drain.id == "w-1" && drain.wait && drain.timeout == 30)
        let concurrency = try #require(try Saasctl.parseAsRoot(["workers", "concurrency", "w-1", "8"]) as? WorkersCommand.Concurrency)
        #expect(concurrency.id == "w-1" && concurrency.slots == 8)
    }

    @Test func submitParsesItsOptions() throws {
        let parsed = try Saasctl.parseAsRoot(["submit", "docs", "--model", "g1", "--team", "t1", "--instructions", "Summarise", "--concurrency", "2"])
        let command = try #require(parsed as? SubmitCommand)
        #expect(command.directory == "docs")
        #expect(command.model == "g1")
        #expect(command.team == "t1")
        #expect(command.instructions == "Summarise")
        #expect(command.concurrency == 2)
    }

    @Test func modelGroupsCreateTakesModelSpecs() throws {
        let parsed = try Saasctl.parseAsRoot(["model-groups", "create", "g", "--model", "gpt-4o:openai:0", "--model", "llama3:8b:local:1"])
        let command = try #require(parsed as? ModelGroupsCommand.Create)
        #expect(
            try command.models.map(ModelSpec.init) == [
                try ModelSpec("gpt-4o:openai:0"), try ModelSpec("llama3:8b:local:1"),
            ]
        )
        let spec = try ModelSpec("llama3:8b:local:1")
        #expect(spec.name == "llama3:8b" && spec.provider == "local" && spec.priority == 1)
    }

    @Test(arguments: [
        ["credits", "add", "t1"],  // --credits missing
        ["credits", "add", "t1", "--credits", "0"],
        ["credits", "adjust", "t1", "--credits", "0", "--reason", "x"],
        ["jobs", "list", "--status", "done"],
        ["jobs", "list", "--limit", "101"],
        ["orgs", "create", "o", "--name", "n", "--metadata", "[1]"],
        ["model-groups", "create", "g"],  // no models
        ["model-groups", "create", "g", "--model", "only:two"],
        ["model-groups", "create", "g", "--model", "a:b:-1"],
        ["providers", "create", "p", "--kind", "openai", "--base-url", "http://x"],  // no key source
        ["workers", "concurrency", "w", "0"],
        ["submit", "d", "--model", "g", "--concurrency", "0"],
        ["teams", "rotate-key", "t", "--grace-seconds", "86401"],
        ["nonsense"],
        ["orgs", "list", "--request-timeout", "0"],
    ])
    func usageErrorsExit2(arguments: [String]) {
        #expect(throws: (any Error).self) { try Saasctl.parseAsRoot(arguments) }
        do {
            _ = try Saasctl.parseAsRoot(arguments)
        } catch {
            let (status, message) = Saasctl.outcome(of: error)
            #expect(status == .usage, "\(arguments)")
            #expect(!message.isEmpty)
        }
    }

    @Test func helpExits0AndListsTheExitCodes() {
        do {
            // ArgumentParser answers --help with a command whose run throws the help, as main runs it.
            var help = try Saasctl.parseAsRoot(["--help"])
            try help.run()
            Issue.record("--help ran as a command")
        } catch {
            let (status, message) = Saasctl.outcome(of: error)
            #expect(status == .ok)
            #expect(message.contains("Exit codes"))
            for code in ExitStatus.allCases { #expect(message.contains("  \(code.rawValue)  ")) }
        }
    }

    @Test func failuresKeepTheirExitCode() {
        #expect(Saasctl.outcome(of: CommandFailure(.refused, "Team 'x' not found")) == (.refused, "saasctl: Team 'x' not found"))
        #expect(Saasctl.outcome(of: CommandFailure(.authFailed, "Invalid admin API key")).0 == .authFailed)
        #expect(Saasctl.outcome(of: CommandFailure.unavailable("down")).0 == .unavailable)
        #expect(Saasctl.outcome(of: ExitCode(1)).0 == .refused)
        #expect(Saasctl.outcome(of: ValidationError("bad")).0 == .usage)
    }

    @Test func aFailureMessageCannotDriveTheTerminal() {
        let (_, message) = Saasctl.outcome(of: CommandFailure(.refused, "bad\u{1B}[31m red \u{202E}txt"))
        #expect(!message.contains("\u{1B}"))
        #expect(!message.contains("\u{202E}"))
    }

    @Test func httpStatusesMapToExitCodes() {
        // (`ExitStatus` is only named in expressions here: as a type it is ambiguous with Testing's.)
        for status in [200, 202] { #expect(ExitStatus.forHTTPStatus(status, detail: nil) == nil) }
        for status in [400, 404, 409, 422, 429] { #expect(ExitStatus.forHTTPStatus(status, detail: nil) == .refused, "\(status)") }
        #expect(ExitStatus.forHTTPStatus(401, detail: nil) == .authFailed)
        for status in [500, 503, 302] { #expect(ExitStatus.forHTTPStatus(status, detail: nil) == .unavailable, "\(status)") }
        // A 403 is about the key only when the team is suspended; any other refuses one request.
        #expect(ExitStatus.forHTTPStatus(403, detail: "Team access is suspended. Please contact support.") == .authFailed)
        let refusals: [String?] = [
            "Cannot access jobs for a different team", "Team does not have access to model group 'g'", "API key does not belong to team 't'",
            "Job does not belong to your team", nil,
        ]
        for detail in refusals {
            #expect(ExitStatus.forHTTPStatus(403, detail: detail) == .refused, "\(String(describing: detail))")
        }
    }

    @Test func answersAreCheckedByStatus() throws {
        let ok = APIClient.Answer(status: 200, json: ["a": 1], byteCount: 7)
        #expect(try APIClient.checked(ok) == ["a": 1])
        let notFound = APIClient.Answer(status: 404, json: ["detail": "Job not found"], byteCount: 25)
        #expect(throws: CommandFailure(.refused, "Job not found")) { try APIClient.checked(notFound) }
        let unauthorized = APIClient.Answer(status: 401, json: ["detail": "Invalid admin API key"], byteCount: 30)
        #expect(throws: CommandFailure(.authFailed, "Invalid admin API key")) { try APIClient.checked(unauthorized) }
        let foreign = APIClient.Answer(status: 403, json: ["detail": "API key does not belong to team 't'"], byteCount: 50)
        #expect(throws: CommandFailure(.refused, "API key does not belong to team 't'")) { try APIClient.checked(foreign) }
        let suspended = APIClient.Answer(status: 403, json: ["detail": .string(ExitStatus.suspendedDetail)], byteCount: 60)
        #expect(throws: CommandFailure(.authFailed, ExitStatus.suspendedDetail)) { try APIClient.checked(suspended) }
        let html = APIClient.Answer(status: 502, json: nil, byteCount: 120)
        #expect(throws: CommandFailure.unavailable("the API failed (HTTP 502): HTTP 502 (the answer is not the API's JSON)")) {
            try APIClient.checked(html)
        }
        let notJSON = APIClient.Answer(status: 200, json: nil, byteCount: 5)
        #expect(throws: CommandFailure.unavailable("the API's answer (HTTP 200) is not JSON")) { try APIClient.checked(notJSON) }
    }
}

extension JSONValue: ExpressibleByDictionaryLiteral {
    init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(uniqueKeysWithValues: elements))
    }
}
