import Foundation
import HTTPTypes
import OpenAPIKit

/// Organizations, teams, model groups and providers (API.md, "Admin endpoints").
extension OperationCatalogue {
    static var tenancy: [OperationSpec] { organizations + teams + modelGroups + providers }

    static var organizations: [OperationSpec] {
        [
            OperationSpec(
                method: .post,
                path: "/api/organizations/create",
                summary: "Create an organization",
                tag: .organizations,
                auth: .admin,
                body: RequestBodySpec(
                    schema: .ref("OrganizationCreate"),
                    example: #"{"organization_id": "acme", "name": "Acme Corp", "metadata": {"plan": "enterprise"}}"#
                ),
                answers: [.ok("Organization", Examples.organization)],
                errors: [ErrorAnswer(409, "Organization with ID '<id>' already exists")]
            ),
            OperationSpec(
                method: .get,
                path: "/api/organizations",
                summary: "List organizations",
                tag: .organizations,
                auth: .admin,
                query: [.limit, .cursor],
                answers: [.ok("OrganizationList", #"{"organizations": [\#(Examples.organization)], "next_cursor": null}"#)]
            ),
            OperationSpec(
                method: .get,
                path: "/api/organizations/{org_id}",
                summary: "One organization",
                tag: .organizations,
                auth: .admin,
                answers: [.ok("Organization", Examples.organization)],
                errors: [ErrorAnswer(404, Sentences.notFound("Organization"))]
            ),
            OperationSpec(
                method: .get,
                path: "/api/organizations/{org_id}/teams",
                summary: "The organization's teams, with their credits",
                tag: .organizations,
                auth: .admin,
                query: [.limit, .cursor],
                answers: [.ok("TeamList", #"{"teams": [\#(Examples.team)], "next_cursor": null}"#)],
                errors: [ErrorAnswer(404, Sentences.notFound("Organization"))]
            ),
            OperationSpec(
                method: .get,
                path: "/api/organizations/{org_id}/usage",
                summary: "The organization's usage over a period, per team",
                tag: .organizations,
                auth: .admin,
                query: [.period],
                answers: [.ok("Usage", Examples.usage)],
                errors: [ErrorAnswer(404, Sentences.notFound("Organization"))]
            ),
        ]
    }

    static var teams: [OperationSpec] {
        let teamNotFound = ErrorAnswer(404, Sentences.notFound("Team"))
        return [
            OperationSpec(
                method: .post,
                path: "/api/teams/create",
                summary: "Create a team (its key is shown once)",
                tag: .teams,
                auth: .admin,
                body: RequestBodySpec(
                    schema: .ref("TeamCreate"),
                    example: """
                        {"organization_id": "acme", "team_id": "acme-research", "team_alias": "Research",
                         "model_groups": ["gpt-fast"], "credits_allocated": 1000, "budget_mode": "job_based"}
                        """
                ),
                answers: [
                    .ok(
                        "Team",
                        String(Examples.team.dropLast()) + #", "virtual_key": "sk-EXAMPLE-only-not-a-key-EXAMPLE-only-0001"}"#,
                        description: "The team with its `virtual_key`, the only time it is shown"
                    )
                ],
                errors: [
                    ErrorAnswer(404, "Organization '<id>' not found", "Model group '<name>' not found"),
                    ErrorAnswer(409, "Team '<id>' already exists"),
                ]
            ),
            OperationSpec(
                method: .get,
                path: "/api/teams",
                summary: "List teams",
                tag: .teams,
                auth: .admin,
                query: [
                    .limit, .cursor,
                    QueryParameter(name: "organization_id", description: "Only this organization's teams.", schema: .string),
                ],
                answers: [.ok("TeamList", #"{"teams": [\#(Examples.team)], "next_cursor": null}"#)]
            ),
            OperationSpec(
                method: .get,
                path: "/api/teams/{team_id}",
                summary: "One team: status, model groups, credits, `key_prefix` (never a key)",
                tag: .teams,
                auth: .admin,
                answers: [.ok("Team", Examples.team)],
                errors: [teamNotFound]
            ),
            OperationSpec(
                method: .put,
                path: "/api/teams/{team_id}/model-groups",
                summary: "Replace the team's model groups",
                tag: .teams,
                auth: .admin,
                body: RequestBodySpec(schema: .ref("ModelGroupsBody"), example: #"{"model_groups": ["gpt-fast", "claude-docs"]}"#),
                answers: [.ok("Team", Examples.team)],
                errors: [ErrorAnswer(404, "Team '<id>' not found", "Model group '<name>' not found")]
            ),
            OperationSpec(
                method: .put,
                path: "/api/teams/{team_id}/suspend",
                summary: "Suspend the team",
                description: "Its queued jobs wait; nothing of it runs or is charged until resumed. Its key answers 403.",
                tag: .teams,
                auth: .admin,
                answers: [.ok("Team", Examples.team.replacingOccurrences(of: #""status": "active""#, with: #""status": "suspended""#))],
                errors: [teamNotFound]
            ),
            OperationSpec(
                method: .put,
                path: "/api/teams/{team_id}/resume",
                summary: "Resume a suspended team",
                tag: .teams,
                auth: .admin,
                answers: [.ok("Team", Examples.team)],
                errors: [teamNotFound]
            ),
            OperationSpec(
                method: .post,
                path: "/api/teams/{team_id}/rotate-key",
                summary: "Mint a new key; the old one works for the grace period only",
                tag: .teams,
                auth: .admin,
                body: RequestBodySpec(
                    description: "Optional: no body is no grace period.",
                    schema: .ref("KeyRotationRequest"),
                    example: #"{"grace_seconds": 3600}"#,
                    required: false
                ),
                answers: [
                    .ok(
                        "KeyRotation",
                        """
                        {"team_id": "acme-research", "virtual_key": "sk-EXAMPLE-only-not-a-key-EXAMPLE-only-0002",
                         "key_prefix": "sk-9Kd2", "previous_key_expires_at": "2026-11-26T19:47:10.266Z"}
                        """
                    )
                ],
                errors: [teamNotFound]
            ),
            OperationSpec(
                method: .put,
                path: "/api/teams/{team_id}/limits",
                summary: "Set the team's limits",
                description: """
                    Over a submit limit: 429 `Rate limit exceeded: <which>` with `Retry-After`. `max_concurrent_jobs` caps what \
                    workers run at once for the team; after `retention_days` contents are erased; crossing \
                    `low_balance_threshold` downward sends `credits.low` once per crossing.
                    """,
                tag: .teams,
                auth: .admin,
                body: RequestBodySpec(
                    schema: .ref("TeamLimitsRequest"),
                    example: #"{"max_queued_jobs": 10000, "submits_per_second": 50, "retention_days": 30, "low_balance_threshold": null}"#
                ),
                answers: [.ok("TeamLimitsAnswer", String(Examples.limits.dropLast()) + #", "team_id": "acme-research"}"#)],
                errors: [teamNotFound]
            ),
            OperationSpec(
                method: .get,
                path: "/api/me",
                summary: "The key's team: status, model groups with their models, balance",
                tag: .teams,
                auth: .team,
                answers: [
                    .ok(
                        "Me",
                        """
                        {"team_id": "acme-research", "organization_id": "acme", "team_alias": "Research", "status": "active",
                         "model_groups": [{"group_name": "gpt-fast", "models": ["gpt-4o-mini", "claude-3-5-haiku"]}],
                         "credits_allocated": 1000, "credits_used": 12, "credits_reserved": 3, "credits_remaining": 985,
                         "budget_mode": "job_based", "key_prefix": "sk-4fQz"}
                        """
                    )
                ]
            ),
            OperationSpec(
                method: .get,
                path: "/api/teams/{team_id}/usage",
                summary: "The team's usage over a period",
                tag: .teams,
                auth: .teamOrAdmin,
                query: [.period],
                answers: [.ok("Usage", Examples.usage)],
                errors: [teamNotFound, ErrorAnswer(403, "Cannot access usage data for a different team")]
            ),
        ]
    }

    static var modelGroups: [OperationSpec] {
        let notFound = ErrorAnswer(404, Sentences.notFound("Model group"))
        let models = """
            {"models": [{"model_name": "gpt-4o-mini", "provider": "openai-main", "priority": 0, "input_price_per_million": 0.15,
                         "output_price_per_million": 0.6, "context_tokens": 128000}]}
            """
        return [
            OperationSpec(
                method: .post,
                path: "/api/model-groups/create",
                summary: "Create a model group",
                tag: .modelGroups,
                auth: .admin,
                body: RequestBodySpec(
                    schema: .ref("ModelGroupCreate"),
                    example: """
                        {"group_name": "gpt-fast", "display_name": "Fast GPT", "description": "Cheap chat with a fallback",
                         "models": [{"model_name": "gpt-4o-mini", "provider": "openai-main", "priority": 0,
                                     "input_price_per_million": 0.15, "output_price_per_million": 0.6, "context_tokens": 128000},
                                    {"model_name": "claude-3-5-haiku", "provider": "anthropic-main", "priority": 1}]}
                        """
                ),
                answers: [.ok("ModelGroup", Examples.modelGroup)],
                errors: [ErrorAnswer(409, "Model group '<name>' already exists"), ErrorAnswer(404, Sentences.notFound("Provider"))]
            ),
            OperationSpec(
                method: .get,
                path: "/api/model-groups",
                summary: "List model groups",
                tag: .modelGroups,
                auth: .admin,
                answers: [.ok("ModelGroupList", #"{"model_groups": [\#(Examples.modelGroup)], "next_cursor": null}"#)]
            ),
            OperationSpec(
                method: .get,
                path: "/api/model-groups/{name}",
                summary: "One model group, its models by priority",
                tag: .modelGroups,
                auth: .admin,
                answers: [.ok("ModelGroup", Examples.modelGroup)],
                errors: [notFound]
            ),
            OperationSpec(
                method: .put,
                path: "/api/model-groups/{name}/models",
                summary: "Replace the group's models",
                description: "`{\"models\": [...]}`; a bare array is accepted too.",
                tag: .modelGroups,
                auth: .admin,
                body: RequestBodySpec(schema: .ref("ModelsBody"), example: models),
                answers: [.ok("ModelGroup", Examples.modelGroup)],
                errors: [ErrorAnswer(404, Sentences.notFound("Model group"), Sentences.notFound("Provider"))]
            ),
            OperationSpec(
                method: .delete,
                path: "/api/model-groups/{name}",
                summary: "Delete a model group no team holds",
                tag: .modelGroups,
                auth: .admin,
                answers: [.ok("ModelGroupDeleted", #"{"group_name": "gpt-fast", "deleted": true}"#)],
                errors: [notFound, ErrorAnswer(409, "Model group '<name>' is assigned to teams", "Model group '<name>' has live jobs")]
            ),
        ]
    }

    static var providers: [OperationSpec] {
        let notFound = ErrorAnswer(404, Sentences.notFound("Provider"))
        return [
            OperationSpec(
                method: .post,
                path: "/api/providers/create",
                summary: "Add an upstream provider",
                tag: .providers,
                auth: .admin,
                body: RequestBodySpec(
                    schema: .ref("ProviderCreate"),
                    example: """
                        {"name": "openai-main", "kind": "openai", "base_url": "https://api.openai.com/v1",
                         "api_key": "sk-upstream-key", "rpm": 500, "timeout_seconds": 120}
                        """
                ),
                answers: [.ok("Provider", Examples.provider)],
                errors: [ErrorAnswer(409, "Provider '<name>' already exists")]
            ),
            OperationSpec(
                method: .get,
                path: "/api/providers",
                summary: "List providers with their health",
                tag: .providers,
                auth: .admin,
                answers: [.ok("ProviderList", #"{"providers": [\#(Examples.provider)], "next_cursor": null}"#)]
            ),
            OperationSpec(
                method: .get,
                path: "/api/providers/{name}",
                summary: "One provider with its health",
                tag: .providers,
                auth: .admin,
                answers: [.ok("Provider", Examples.provider)],
                errors: [notFound]
            ),
            OperationSpec(
                method: .put,
                path: "/api/providers/{name}",
                summary: "Change a provider",
                tag: .providers,
                auth: .admin,
                body: RequestBodySpec(schema: .ref("ProviderUpdate"), example: #"{"rpm": null, "timeout_seconds": 60}"#),
                answers: [.ok("Provider", Examples.provider)],
                errors: [notFound]
            ),
            OperationSpec(
                method: .delete,
                path: "/api/providers/{name}",
                summary: "Delete a provider no model group uses",
                tag: .providers,
                auth: .admin,
                answers: [.ok("ProviderDeleted", #"{"name": "openai-main", "deleted": true}"#)],
                errors: [notFound, ErrorAnswer(409, "Provider '<name>' is used by model groups")]
            ),
        ]
    }
}
