import Foundation
import Hummingbird
import Shared

/// `/api/model-groups…` (admin): named sets of models, tried by priority with fallbacks.
struct ModelGroupController {
    let modelGroups: any ModelGroupStore

    struct ModelBody: Codable {
        var model_name: String
        var provider: String
        var priority: Int
        var input_price_per_million: Decimal?
        var output_price_per_million: Decimal?
        var context_tokens: Int?
    }

    struct CreateBody: Decodable {
        var group_name: String
        var display_name: String?
        var description: String?
        var models: [ModelBody]
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
        var group_name: String
        var display_name: String?
        var description: String?
        var models: [ModelBody]
        var created_at: Date
        var updated_at: Date

        init(_ group: ModelGroup) {
            group_name = group.groupName
            display_name = group.displayName
            description = group.description
            models = group.models.map {
                ModelBody(
                    model_name: $0.modelName, provider: $0.provider, priority: $0.priority,
                    input_price_per_million: $0.inputPricePerMillion, output_price_per_million: $0.outputPricePerMillion,
                    context_tokens: $0.contextTokens
                )
            }
            created_at = group.createdAt
            updated_at = group.updatedAt
        }
    }

    struct ListResponse: ResponseEncodable {
        var model_groups: [GroupResponse]
        var next_cursor: Nullable<String>
    }

    struct DeletedResponse: ResponseEncodable {
        var group_name: String
        var deleted: Bool
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
        try Validate.identifier(body.group_name, field: "group_name")
        try Validate.optionalName(body.display_name, field: "display_name")
        try Validate.optionalName(body.description, field: "description", max: 2000)
        let models = try Self.entries(body.models)
        return GroupResponse(try await modelGroups.create(groupName: body.group_name, displayName: body.display_name, description: body.description, models: models))
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> ListResponse {
        ListResponse(model_groups: try await modelGroups.list().map(GroupResponse.init), next_cursor: nil)
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
        return DeletedResponse(group_name: name, deleted: true)
    }

    static func entries(_ models: [ModelBody]) throws(APIError) -> [ModelEntry] {
        guard !models.isEmpty else { throw .noModels }
        guard models.count <= 50 else { throw .tooManyModels }
        var entries: [ModelEntry] = []
        for (index, model) in models.enumerated() {
            try Validate.name(model.model_name, field: "models[\(index)].model_name")
            try Validate.identifier(model.provider, field: "models[\(index)].provider")
            try Validate.range(model.priority, 0...1000, field: "models[\(index)].priority")
            for (price, field) in [(model.input_price_per_million, "input_price_per_million"), (model.output_price_per_million, "output_price_per_million")] {
                if let price, price < 0 || price > 1_000_000 {
                    throw .notBetween(0, 1_000_000, field: "models[\(index)].\(field)")
                }
            }
            if let context = model.context_tokens {
                try Validate.range(context, 256...10_000_000, field: "models[\(index)].context_tokens")
            }
            entries.append(ModelEntry(
                modelName: model.model_name, provider: model.provider, priority: model.priority,
                inputPricePerMillion: model.input_price_per_million ?? 0, outputPricePerMillion: model.output_price_per_million ?? 0,
                contextTokens: model.context_tokens
            ))
        }
        return entries
    }
}
