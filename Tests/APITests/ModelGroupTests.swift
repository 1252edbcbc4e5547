import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import API

@Suite("Model groups: create, read, list, replace models, delete")
struct ModelGroupTests {
    static func model(_ name: String, _ provider: String, priority: Int, extra: String = "") -> String {
        #"{"model_name": "\#(name)", "provider": "\#(provider)", "priority": \#(priority)\#(extra)}"#
    }

    static func names(_ response: TestResponse) -> [String] {
        response.objects("models").compactMap { $0["model_name"] as? String }
    }

    @Test("create answers the group with its models by priority, lower first")
    func create() async throws {
        try await Caller.run { api in
            let p1 = try await api.createProvider()
            let p2 = try await api.createProvider()
            let name = Fixture.id("group")
            let models = [
                Self.model("fallback-b", p2, priority: 5),
                Self.model(
                    "primary",
                    p1,
                    priority: 1,
                    extra: #", "input_price_per_million": 3, "output_price_per_million": 15.5, "context_tokens": 200000"#
                ),
                Self.model("fallback-a", p1, priority: 3),
            ]
            let body =
                #"{"group_name": "\#(name)", "display_name": "Chat", "description": "For chatting", "models": [\#(models.joined(separator: ","))]}"#
            let created = try await api.admin(.post, "/api/model-groups/create", body)
            #expect(created.status == .ok, "\(created.summary)")
            #expect(created.string("group_name") == name)
            #expect(created.string("display_name") == "Chat")
            #expect(created.string("description") == "For chatting")
            #expect(Self.names(created) == ["primary", "fallback-a", "fallback-b"])
            let primary = try #require(created.objects("models").first)
            #expect(primary["provider"] as? String == p1)
            #expect(TestResponse.int(primary["priority"]) == 1)
            #expect((primary["input_price_per_million"] as? NSNumber)?.doubleValue == 3)
            #expect((primary["output_price_per_million"] as? NSNumber)?.doubleValue == 15.5)
            #expect(TestResponse.int(primary["context_tokens"]) == 200_000)
            #expect(Fixture.isTimestamp(created.json?["created_at"]))

            let fetched = try await api.admin(.get, "/api/model-groups/\(name)")
            #expect(fetched.status == .ok)
            #expect(Self.names(fetched) == ["primary", "fallback-a", "fallback-b"])
        }
    }

    @Test("a taken group name is a 409; the group is unchanged")
    func duplicate() async throws {
        try await Caller.run { api in
            let provider = try await api.createProvider()
            let name = try await api.createModelGroup(provider: provider, models: ["original"])
            let again = try await api.admin(
                .post,
                "/api/model-groups/create",
                #"{"group_name": "\#(name)", "models": [\#(Self.model("other", provider, priority: 0))]}"#
            )
            #expect(again.status == .conflict)
            #expect(again.detail == "Model group '\(name)' already exists")
            #expect(Self.names(try await api.admin(.get, "/api/model-groups/\(name)")) == ["original"])
        }
    }

    @Test("create refuses invalid fields with a 422 naming the field, and an unknown provider; nothing is created")
    func createValidation() async throws {
        try await Caller.run { api in
            let provider = try await api.createProvider()
            let name = Fixture.id("group")
            let good = Self.model("m", provider, priority: 0)
            let cases: [(body: String, field: String)] = [
                (#"{"models": [\#(good)]}"#, "group_name"),
                (#"{"group_name": "bad name", "models": [\#(good)]}"#, "group_name"),
                (#"{"group_name": "\#(name)"}"#, "models"),
                (#"{"group_name": "\#(name)", "models": []}"#, "models"),
                (#"{"group_name": "\#(name)", "models": {"a": 1}}"#, "models"),
                (#"{"group_name": "\#(name)", "models": [{"provider": "\#(provider)", "priority": 0}]}"#, "model_name"),
                (#"{"group_name": "\#(name)", "models": [{"model_name": "m", "priority": 0}]}"#, "provider"),
                (#"{"group_name": "\#(name)", "models": [{"model_name": "m", "provider": "\#(provider)"}]}"#, "priority"),
                (#"{"group_name": "\#(name)", "models": [\#(Self.model("m", provider, priority: -1))]}"#, "priority"),
                (#"{"group_name": "\#(name)", "models": [{"model_name": "m", "provider": "\#(provider)", "priority": "high"}]}"#, "priority"),
                (
                    #"{"group_name": "\#(name)", "models": [\#(Self.model("m", provider, priority: 0, extra: #", "input_price_per_million": -1"#))]}"#,
                    "input_price_per_million"
                ),
                (
                    #"{"group_name": "\#(name)", "models": [\#(Self.model("m", provider, priority: 0, extra: #", "context_tokens": 0"#))]}"#,
                    "context_tokens"
                ),
                (#"{"group_name": "\#(name)", "display_name": 7, "models": [\#(good)]}"#, "display_name"),
            ]
            for (body, field) in cases {
                let response = try await api.admin(.post, "/api/model-groups/create", body)
                #expect(response.status == .unprocessableContent, "\(body): \(response.summary)")
                #expect(response.detail?.contains(field) == true, "\(body): \(response.summary)")
            }
            let unknownProvider = Fixture.id("missing-prov")
            let noProvider = try await api.admin(
                .post,
                "/api/model-groups/create",
                #"{"group_name": "\#(name)", "models": [\#(Self.model("m", unknownProvider, priority: 0))]}"#
            )
            #expect(noProvider.status == .notFound, "\(noProvider.summary)")
            #expect(noProvider.detail?.contains(unknownProvider) == true)
            #expect(try await api.admin(.get, "/api/model-groups/\(name)").status == .notFound)
        }
    }

    @Test("get: an unknown group is a 404")
    func getUnknown() async throws {
        try await Caller.run { api in
            let unknown = Fixture.id("missing-group")
            let missing = try await api.admin(.get, "/api/model-groups/\(unknown)")
            #expect(missing.status == .notFound)
            #expect(missing.detail == "Model group '\(unknown)' not found")
        }
    }

    @Test("list answers every group with its models")
    func list() async throws {
        try await Caller.run { api in
            let provider = try await api.createProvider()
            let a = try await api.createModelGroup(provider: provider, models: ["a1", "a2"])
            let b = try await api.createModelGroup(provider: provider, models: ["b1"])
            let list = try await api.admin(.get, "/api/model-groups")
            #expect(list.status == .ok)
            let groups = list.objects("model_groups")
            let byName = Dictionary(groups.compactMap { g in (g["group_name"] as? String).map { ($0, g) } }, uniquingKeysWith: { x, _ in x })
            #expect((byName[a]?["models"] as? [[String: Any]])?.compactMap { $0["model_name"] as? String } == ["a1", "a2"])
            #expect((byName[b]?["models"] as? [[String: Any]])?.compactMap { $0["model_name"] as? String } == ["b1"])
            #expect(list.isNull("next_cursor"), "one page holds every group")
        }
    }

    @Test("PUT models replaces the models, as an object or as a bare array")
    func replaceModels() async throws {
        try await Caller.run { api in
            let provider = try await api.createProvider()
            let name = try await api.createModelGroup(provider: provider, models: ["old"])

            let object = try await api.admin(
                .put,
                "/api/model-groups/\(name)/models",
                #"{"models": [\#(Self.model("second", provider, priority: 2)), \#(Self.model("first", provider, priority: 1))]}"#
            )
            #expect(object.status == .ok, "\(object.summary)")
            #expect(Self.names(object) == ["first", "second"])
            #expect(Self.names(try await api.admin(.get, "/api/model-groups/\(name)")) == ["first", "second"])

            let array = try await api.admin(.put, "/api/model-groups/\(name)/models", "[\(Self.model("only", provider, priority: 0))]")
            #expect(array.status == .ok, "\(array.summary)")
            #expect(Self.names(array) == ["only"])
            #expect(Self.names(try await api.admin(.get, "/api/model-groups/\(name)")) == ["only"])
        }
    }

    @Test("PUT models refuses empty lists, unknown providers and groups; the models are unchanged")
    func replaceModelsRefusals() async throws {
        try await Caller.run { api in
            let provider = try await api.createProvider()
            let name = try await api.createModelGroup(provider: provider, models: ["kept"])

            for body in [#"{"models": []}"#, "[]"] {
                let empty = try await api.admin(.put, "/api/model-groups/\(name)/models", body)
                #expect(empty.status == .unprocessableContent, "\(body): \(empty.summary)")
                #expect(empty.detail?.contains("models") == true)
            }
            let wrongType = try await api.admin(.put, "/api/model-groups/\(name)/models", #"{"models": "all"}"#)
            #expect(wrongType.status == .unprocessableContent)
            #expect(wrongType.detail?.contains("models") == true)

            let unknownProvider = Fixture.id("missing-prov")
            let noProvider = try await api.admin(
                .put,
                "/api/model-groups/\(name)/models",
                #"{"models": [\#(Self.model("x", unknownProvider, priority: 0))]}"#
            )
            #expect(noProvider.status == .notFound, "\(noProvider.summary)")
            #expect(noProvider.detail?.contains(unknownProvider) == true)
            #expect(Self.names(try await api.admin(.get, "/api/model-groups/\(name)")) == ["kept"])

            let unknown = Fixture.id("missing-group")
            let noGroup = try await api.admin(
                .put,
                "/api/model-groups/\(unknown)/models",
                #"{"models": [\#(Self.model("x", provider, priority: 0))]}"#
            )
            #expect(noGroup.status == .notFound)
            #expect(noGroup.detail == "Model group '\(unknown)' not found")
            #expect(try await api.admin(.get, "/api/model-groups/\(unknown)").status == .notFound)
        }
    }

    @Test("PUT models as a bare array: a wrong type is a 422 naming the field")
    func replaceModelsBareArrayNamesField() async throws {
        try await Caller.run { api in
            let provider = try await api.createProvider()
            let name = try await api.createModelGroup(provider: provider, models: ["kept"])
            let response = try await api.admin(
                .put,
                "/api/model-groups/\(name)/models",
                #"[{"model_name": "m", "provider": "\#(provider)", "priority": "high"}]"#
            )
            #expect(response.status == .unprocessableContent)
            #expect(response.detail?.contains("priority") == true, "\(response.summary)")
            #expect(Self.names(try await api.admin(.get, "/api/model-groups/\(name)")) == ["kept"])
        }
    }

    @Test("DELETE: 409 while a team holds the group, 200 once none does; then 404")
    func delete() async throws {
        try await Caller.run { api in
            let name = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [name])

            let assigned = try await api.admin(.delete, "/api/model-groups/\(name)")
            #expect(assigned.status == .conflict)
            #expect(assigned.detail == "Model group '\(name)' is assigned to teams")
            #expect(try await api.admin(.get, "/api/model-groups/\(name)").status == .ok)

            #expect(try await api.admin(.put, "/api/teams/\(team.id)/model-groups", #"{"model_groups": []}"#).status == .ok)
            let deleted = try await api.admin(.delete, "/api/model-groups/\(name)")
            #expect(deleted.status == .ok, "\(deleted.summary)")
            #expect(deleted.string("group_name") == name)
            #expect(deleted.json?["deleted"] as? Bool == true)

            let gone = try await api.admin(.get, "/api/model-groups/\(name)")
            #expect(gone.status == .notFound)
            let again = try await api.admin(.delete, "/api/model-groups/\(name)")
            #expect(again.status == .notFound)
            #expect(again.detail == "Model group '\(name)' not found")
        }
    }
}
