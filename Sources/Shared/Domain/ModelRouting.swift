public import Foundation

public enum ProviderKind: String, Sendable, Codable, Hashable, CaseIterable {
    /// Any OpenAI-compatible endpoint (`POST /v1/chat/completions`).
    case openai
    /// Anthropic's Messages API (`POST /v1/messages`).
    case anthropic
}

/// An upstream endpoint. Its API key is stored encrypted and never leaves the process that
/// decrypts it to make a call.
public struct Provider: Sendable, Hashable {
    public var name: String
    public var kind: ProviderKind
    public var baseURL: String
    public var rpm: Int?
    public var tpm: Int?
    public var timeoutSeconds: Int
    public var createdAt: Date
    public var updatedAt: Date
}

/// One model of a group: which upstream model, at which provider, tried in which order, at what price.
public struct ModelEntry: Sendable, Hashable, Codable {
    public var modelName: String
    public var provider: String
    public var priority: Int
    /// USD per million input tokens.
    public var inputPricePerMillion: Decimal
    /// USD per million output tokens.
    public var outputPricePerMillion: Decimal
    /// The context budget for splitting documents; nil means the configured default.
    public var contextTokens: Int?

    public init(
        modelName: String,
        provider: String,
        priority: Int,
        inputPricePerMillion: Decimal = 0,
        outputPricePerMillion: Decimal = 0,
        contextTokens: Int? = nil
    ) {
        self.modelName = modelName
        self.provider = provider
        self.priority = priority
        self.inputPricePerMillion = inputPricePerMillion
        self.outputPricePerMillion = outputPricePerMillion
        self.contextTokens = contextTokens
    }

    /// What `prompt` + `completion` tokens cost on this model, in USD.
    public func cost(promptTokens: Int, completionTokens: Int) -> Decimal {
        (Decimal(promptTokens) * inputPricePerMillion + Decimal(completionTokens) * outputPricePerMillion) / 1_000_000
    }
}

/// A named set of models a team may use: the first by priority, the rest as fallbacks.
public struct ModelGroup: Sendable, Hashable {
    public var groupName: String
    public var displayName: String?
    public var description: String?
    /// Ordered by priority, lower first.
    public var models: [ModelEntry]
    public var createdAt: Date
    public var updatedAt: Date

    public init(groupName: String, displayName: String? = nil, description: String? = nil, models: [ModelEntry], createdAt: Date, updatedAt: Date) {
        self.groupName = groupName
        self.displayName = displayName
        self.description = description
        self.models = models
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
