import Configuration
import Logging
import Redis
import Testing

@testable import Shared

@Suite("Configuration")
struct AppConfigurationTests {
    private func load(_ variables: [String: String]) throws -> AppConfiguration {
        try AppConfiguration(reader: ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: variables)))
    }

    @Test("local development has working defaults")
    func defaults() throws {
        let configuration = try load([:])
        #expect(configuration.environment == .development)
        #expect(configuration.port == 8003)
        #expect(configuration.masterKey == AppConfiguration.developmentMasterKey)
        #expect(configuration.workerConcurrency == 64)
        #expect(try configuration.redis().port == 6381)
    }

    @Test("values are read from the environment's names")
    func reads() throws {
        let configuration = try load([
            "PORT": "9001", "DATABASE_URL": "postgresql://a:b@db:5432/x", "REDIS_URL": "redis://cache:6379/2",
            "WORKER_CONCURRENCY": "1000", "LEASE_SECONDS": "2.5", "LOG_LEVEL": "debug",
        ])
        #expect(configuration.port == 9001)
        #expect(configuration.databaseURL == "postgresql://a:b@db:5432/x")
        #expect(try configuration.redis().database == 2)
        #expect(configuration.workerConcurrency == 1000)
        #expect(configuration.leaseSeconds == 2.5)
        #expect(configuration.logLevel == .debug)
    }

    @Test("extraction settings: defaults, the environment's names, bad values refused")
    func extraction() throws {
        let defaults = try load([:]).extraction
        #expect(defaults == ExtractionSettings())
        #expect(defaults.pdftotextPath == "pdftotext" && defaults.pandocPath == "pandoc")
        #expect(defaults.timeout == .seconds(60) && defaults.memoryLimitBytes == 1 << 30 && defaults.maxTextBytes == 32 << 20)
        let set = try load([
            "PDFTOTEXT_PATH": "/opt/poppler/bin/pdftotext", "PANDOC_PATH": "/opt/pandoc", "EXTRACTION_TIMEOUT_SECONDS": "2.5",
            "EXTRACTION_MEMORY_MB": "512", "MAX_EXTRACTED_TEXT_BYTES": "1048576",
        ]).extraction
        #expect(set.pdftotextPath == "/opt/poppler/bin/pdftotext" && set.pandocPath == "/opt/pandoc")
        #expect(set.timeout == .milliseconds(2500) && set.memoryLimitBytes == 512 << 20 && set.maxTextBytes == 1 << 20)
        #expect(throws: ConfigurationError.self) { try load(["EXTRACTION_TIMEOUT_SECONDS": "0"]) }
        #expect(throws: ConfigurationError.self) { try load(["EXTRACTION_MEMORY_MB": "lots"]) }
        #expect(throws: ConfigurationError.self) { try load(["MAX_EXTRACTED_TEXT_BYTES": "10"]) }
    }

    @Test("a bad value names its variable")
    func badValues() {
        #expect(throws: ConfigurationError.invalid(variable: "PORT", reason: "must be a whole number from 1 to 65535, not 'eighty'")) {
            try load(["PORT": "eighty"])
        }
        #expect(throws: ConfigurationError.self) { try load(["WORKER_CONCURRENCY": "0"]) }
        #expect(throws: ConfigurationError.self) { try load(["ENVIRONMENT": "staging"]) }
        #expect(throws: ConfigurationError.self) { try load(["LOG_LEVEL": "loud"]) }
        #expect(throws: ConfigurationError.self) { try load(["PROVIDER_KEY_SECRET": "c2hvcnQ="]) }
    }

    @Test("production refuses a missing, default or short MASTER_KEY")
    func productionMasterKey() throws {
        let secret = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  // 32 bytes
        #expect(throws: ConfigurationError.missing(variable: "MASTER_KEY")) {
            try load(["ENVIRONMENT": "production", "PROVIDER_KEY_SECRET": secret])
        }
        #expect(throws: ConfigurationError.self) {
            try load(["ENVIRONMENT": "production", "MASTER_KEY": AppConfiguration.developmentMasterKey, "PROVIDER_KEY_SECRET": secret])
        }
        #expect(throws: ConfigurationError.self) {
            try load(["ENVIRONMENT": "production", "MASTER_KEY": "too-short", "PROVIDER_KEY_SECRET": secret])
        }
        #expect(throws: ConfigurationError.missing(variable: "PROVIDER_KEY_SECRET")) {
            try load(["ENVIRONMENT": "production", "MASTER_KEY": String(repeating: "k", count: 40)])
        }
        let ok = try load(["ENVIRONMENT": "production", "MASTER_KEY": String(repeating: "k", count: 40), "PROVIDER_KEY_SECRET": secret])
        #expect(ok.environment == .production)
    }
}
