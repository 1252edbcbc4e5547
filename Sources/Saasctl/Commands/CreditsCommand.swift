import ArgumentParser

/// `saasctl credits add|adjust|balance|transactions`.
struct CreditsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credits",
        abstract: "A team's credits: add, adjust, balance, ledger.",
        subcommands: [Add.self, Adjust.self, Balance.self, Transactions.self]
    )

    static func path(_ team: String, _ tail: String) -> String { "/api/credits/teams/\(BaseURL.encode(team))/\(tail)" }

    static let transactionFields = [
        Field("time", "created_at", .time), Field("type", "transaction_type"), Field("credits", "credits_amount", .number),
        Field("after", "credits_after", .number), Field("job", "job_id", .shortID), Field("reason", "reason", maxWidth: 50),
    ]

    struct Add: APICommand {
        static let configuration = CommandConfiguration(abstract: "Add credits to a team's allocation.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The team's id.") var team: String
        @Option(help: "How many credits (> 0).") var credits: Int
        @Option(help: "Why, for the ledger.") var reason: String?
        @Option(name: .customLong("idempotency-key"), help: "Sent as Idempotency-Key: a retry with the same key adds once.")
        var idempotencyKey: String?

        func validate() throws {
            guard credits > 0 else { throw ValidationError("--credits must be more than 0") }
        }

        func run(_ client: APIClient) async throws {
            var body: [String: JSONValue] = ["credits": .integer(credits)]
            if let reason { body["reason"] = .string(reason) }
            let headers = idempotencyKey.map { [("Idempotency-Key", $0)] } ?? []
            output.show(try await client.call(.POST, CreditsCommand.path(team, "add"), json: .object(body), headers: headers))
        }
    }

    struct Adjust: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "Adjust a team's allocation up or down (never below what it holds).",
            discussion: "Negative amounts: --credits -50 (or --credits=-50)."
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The team's id.") var team: String
        @Option(parsing: .unconditional, help: "Signed credits (≠ 0).") var credits: Int
        @Option(help: "Why, for the ledger (required).") var reason: String

        func validate() throws {
            guard credits != 0 else { throw ValidationError("--credits must not be 0") }
        }

        func run(_ client: APIClient) async throws {
            let body = JSONValue.object(["credits": .integer(credits), "reason": .string(reason)])
            output.show(try await client.call(.POST, CreditsCommand.path(team, "adjust"), json: body))
        }
    }

    struct Balance: APICommand {
        static let configuration = CommandConfiguration(abstract: "A team's balance: allocated, used, reserved, remaining.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The team's id.") var team: String

        func run(_ client: APIClient) async throws {
            output.show(try await client.call(.GET, CreditsCommand.path(team, "balance")))
        }
    }

    struct Transactions: APICommand {
        static let configuration = CommandConfiguration(abstract: "A team's ledger, newest first.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var list: ListOptions
        @Argument(help: "The team's id.") var team: String

        func run(_ client: APIClient) async throws {
            try await Lister(client: client, path: CreditsCommand.path(team, "transactions"), key: "transactions")
                .print(list, output: output, fields: CreditsCommand.transactionFields)
        }
    }
}
