import Foundation
import Hummingbird
import Shared

/// `/api/model-groups…` (admin): named sets of models, tried by priority with fallbacks.
struct ModelGroupController {
    let modelGroups: any ModelGroupStore

    struct ModelBody: Codable {
        var modelName: String
        var provider: String
        var priority: Int
        var inputPricePerMillion: Decimal?
        var outputPricePerMillion: Decimal?
        var contextTokens: Int?

        enum CodingKeys: String, CodingKey {
            case modelName = "model_name"
            case provider, priority
            case inputPricePerMillion = "input_price_per_million"
            case outputPricePerMillion = "output_price_per_million"
            case contextTokens = "context_tokens"
        }
    }

    struct CreateBody: Decodable {
        var groupName: String
        var displayName: String?
        var description: String?
        var models: [ModelBody]

        enum CodingKeys: String, CodingKey {
            case groupName = "group_name"
            case displayName = "display_name"
            case description, models
        }
    }

    /// `{"models": [...]}` or a bare array.
    struct ModelsBody: Decodable {
        var models: [ModelBody]

        init(from decoder: any Decoder) throws {
            // A bare array is decoded as such, so its errors name the element and field.
            if (try? decoder.unkeyedContainer()) != nil {
                models = try decoder.singleValueContainer().decode([ModelBody].self)
                return
            }
            let container = try decoder.container(keyedBy: CodingKeys.self)
            models = try container.decode([ModelBody].self, forKey: .models)
        }

        enum CodingKeys: String, CodingKey { case models }
    }

    struct GroupResponse: ResponseEncodable {
        var groupName: String
        var displayName: String?
        var description: String?
        var models: [ModelBody]
        var createdAt: Date
        var updatedAt: Date

        enum CodingKeys: String, CodingKey {
            case groupName = "group_name"
            case displayName = "display_name"
            case description, models
            case createdAt = "created_at"
            case updatedAt = "updated_at"
        }

        init(_ group: ModelGroup) {
            groupName = group.groupName
            displayName = group.displayName
            description = group.description
            models = group.models.map {
                ModelBody(
                    modelName: $0.modelName,
                    provider: $0.provider,
                    priority: $0.priority,
                    inputPricePerMillion: $0.inputPricePerMillion,
                    outputPricePerMillion: $0.outputPricePerMillion,
                    contextTokens: $0.contextTokens
                )
            }
            createdAt = group.createdAt
            updatedAt = group.updatedAt
        }
    }

    struct ListResponse: ResponseEncodable {
        var modelGroups: [GroupResponse]
        var nextCursor: Nullable<String>

        enum CodingKeys: String, CodingKey {
            case modelGroups = "model_groups"
            case nextCursor = "next_cursor"
        }
    }

    struct DeletedResponse: ResponseEncodable {
        var groupName: String
        var deleted: Bool

        enum CodingKeys: String, CodingKey {
            case groupName = "group_name"
            case deleted
        }
    }

    func addRoutes(to admin: RouteTable<AppRequestContext>) {
        admin.post("/model-groups/create", use: create)
        admin.get("/model-groups", use: list)
        admin.get("/model-groups/{name}", use: get)
        admin.put("/model-groups/{name}/models", use: replaceModels)
        admin.delete("/model-groups/{name}", use: delete)
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> GroupResponse {
        let body = try await request.decode(as: CreateBody.self, context: context)
        try Validate.identifier(body.groupName, field: "group_name")
        try Validate.optionalName(body.displayName, field: "display_name")
        try Validate.optionalName(body.description, field: "description", max: 2000)
        let models = try Self.entries(body.models)
        return GroupResponse(
            try await modelGroups.create(groupName: body.groupName, displayName: body.displayName, description: body.description, models: models)
        )
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> ListResponse {
        ListResponse(modelGroups: try await modelGroups.list().map(GroupResponse.init), nextCursor: nil)
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> GroupResponse {
        GroupResponse(try await modelGroups.get(try context.modelGroupName()))
    }

    @Sendable func replaceModels(_ request: Request, context: AppRequestContext) async throws -> GroupResponse {
        let name = try context.modelGroupName()
        let body = try await request.decode(as: ModelsBody.self, context: context)
        return GroupResponse(try await modelGroups.replaceModels(name, try Self.entries(body.models)))
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> DeletedResponse {
        let name = try context.modelGroupName()
        try await modelGroups.delete(name)
        return DeletedResponse(groupName: name, deleted: true)
    }

    static func entries(_ models: [ModelBody]) throws(APIError) -> [ModelEntry] {
        guard !models.isEmpty else { throw .noModels }
        guard models.count <= 50 else { throw .tooManyModels }
        var entries: [ModelEntry] = []
        for (index, model) in models.enumerated() {
            try Validate.name(model.modelName, field: "models[\(index)].model_name")
            try Validate.identifier(model.provider, field: "models[\(index)].provider")
            try Validate.range(model.priority, 0...1000, field: "models[\(index)].priority")
            for (price, field) in [
                (model.inputPricePerMillion, "input_price_per_million"), (model.outputPricePerMillion, "output_price_per_million"),
            ] {
                if let price, price < 0 || price > 1_000_000 {
                    throw .notBetween(0, 1_000_000, field: "models[\(index)].\(field)")
                }
            }
            if let context = model.contextTokens {
                try Validate.range(context, 256...10_000_000, field: "models[\(index)].context_tokens")
            }
            entries.append(
                ModelEntry(
                    modelName: model.modelName,
                    provider: model.provider,
                    priority: model.priority,
                    inputPricePerMillion: model.inputPricePerMillion ?? 0,
                    outputPricePerMillion: model.outputPricePerMillion ?? 0,
                    contextTokens: model.contextTokens
                )
            )
        }
        return entries
    }
}
