import ArgumentParser
import Testing

@testable import Saasctl

@Suite struct CommandTests {
    @Test func commandName() {
        #expect(Saasctl.configuration.commandName == "saasctl")
    }
}
