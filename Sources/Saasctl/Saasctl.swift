import ArgumentParser

/// `saasctl`, the admin command line (issue 12, being built).
@main
struct Saasctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "saasctl", abstract: "Operate the LLM job service.")
}
