import Foundation
import HTTPTypes
import OpenAPIKit

/// Credits, webhooks and the audit log.
extension OperationCatalogue {
    static var money: [OperationSpec] { credits + webhooks + audit }

    static var credits: [OperationSpec] {
        let teamNotFound = ErrorAnswer(404, Sentences.notFound("Team"))
        let change = #"{"team_id": "acme-research", "credits_added": 500, "transaction": \#(Examples.transaction)}"#
        return [
            OperationSpec(
                method: .post,
                path: "/api/credits/teams/{team_id}/add",
                summary: "Add credits",
                tag: .credits,
                auth: .admin,
                headers: [.idempotencyKey],
                body: RequestBodySpec(schema: .ref("CreditAdd"), example: #"{"credits": 500, "reason": "monthly top-up"}"#),
                answers: [.ok("CreditChange", change)],
                errors: [
                    teamNotFound, ErrorAnswer(409, Sentences.idempotencyReused),
                    ErrorAnswer(422, "The balance would exceed the maximum of 1000000000000000 credits"),
                ]
            ),
            OperationSpec(
                method: .post,
                path: "/api/credits/teams/{team_id}/adjust",
                summary: "Adjust credits up or down, with a reason",
                tag: .credits,
                auth: .admin,
                headers: [.idempotencyKey],
                body: RequestBodySpec(schema: .ref("CreditAdjust"), example: #"{"credits": -20, "reason": "refund reversed"}"#),
                answers: [.ok("CreditChange", change)],
                errors: [
                    teamNotFound,
                    ErrorAnswer(
                        409,
                        "Adjustment of <change> credits would take the balance below zero (<remaining> remaining)",
                        Sentences.idempotencyReused
                    ),
                ]
            ),
            OperationSpec(
                method: .patch,
                path: "/api/credits/teams/{team_id}/budget-mode",
                summary: "Change the team's billing settings",
                description: "Jobs already queued keep the rates they were submitted with.",
                tag: .credits,
                auth: .admin,
                body: RequestBodySpec(
                    schema: .ref("BudgetModeRequest"),
                    example: #"{"budget_mode": "consumption_tokens", "tokens_per_credit": 5000}"#
                ),
                answers: [.ok("Balance", Examples.balance)],
                errors: [teamNotFound]
            ),
            OperationSpec(
                method: .get,
                path: "/api/credits/teams/{team_id}/balance",
                summary: "The team's balance",
                tag: .credits,
                auth: .teamOrAdmin,
                answers: [.ok("Balance", Examples.balance)],
                errors: [teamNotFound, ErrorAnswer(403, "Cannot access credit balance for a different team")]
            ),
            OperationSpec(
                method: .get,
                path: "/api/credits/teams/{team_id}/transactions",
                summary: "The team's ledger, newest first",
                tag: .credits,
                auth: .teamOrAdmin,
                query: [.limit, .cursor],
                answers: [.ok("TransactionList", #"{"transactions": [\#(Examples.transaction)], "next_cursor": null}"#)],
                errors: [teamNotFound, ErrorAnswer(403, "Cannot access credit transactions for a different team")]
            ),
        ]
    }

    static var webhooks: [OperationSpec] {
        let notFound = ErrorAnswer(404, "Webhook not configured", Sentences.notFound("Team"))
        let foreign = ErrorAnswer(403, "Cannot access webhook for a different team")
        return [
            OperationSpec(
                method: .put,
                path: "/api/teams/{team_id}/webhook",
                summary: "Set the team's webhook endpoint (a new secret each time)",
                description: """
                    Deliveries follow Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 \
                    HMAC-SHA256 of "id.timestamp.body">`), at least once, with backoff for 24 h. Targets resolving to private, \
                    loopback or link-local addresses are refused in production; redirects are not followed.
                    """,
                tag: .webhooks,
                auth: .teamOrAdmin,
                body: RequestBodySpec(
                    schema: .ref("WebhookRequest"),
                    example: #"{"url": "https://hooks.example.com/llm", "events": ["job.completed", "job.failed"]}"#
                ),
                answers: [.ok("Webhook", Examples.webhook)],
                errors: [foreign, ErrorAnswer(404, Sentences.notFound("Team")), ErrorAnswer(503, "Address lookups are busy; retry shortly")]
            ),
            OperationSpec(
                method: .get,
                path: "/api/teams/{team_id}/webhook",
                summary: "The team's webhook endpoint (without its secret)",
                tag: .webhooks,
                auth: .teamOrAdmin,
                answers: [
                    .ok("Webhook", Examples.webhook.replacingOccurrences(of: #""secret": "whsec_ZXhhbXBsZS1vbmx5LW5vdC1hLXNlY3JldA==", "#, with: ""))
                ],
                errors: [foreign, notFound]
            ),
            OperationSpec(
                method: .delete,
                path: "/api/teams/{team_id}/webhook",
                summary: "Remove the team's webhook endpoint",
                tag: .webhooks,
                auth: .teamOrAdmin,
                answers: [.ok("WebhookDeleted", #"{"team_id": "acme-research", "deleted": true}"#)],
                errors: [foreign, notFound]
            ),
            OperationSpec(
                method: .get,
                path: "/api/teams/{team_id}/webhook/deliveries",
                summary: "The team's webhook deliveries, newest first",
                tag: .webhooks,
                auth: .teamOrAdmin,
                query: [.limit, .cursor],
                answers: [
                    .ok(
                        "WebhookDeliveryList",
                        """
                        {"deliveries": [{"delivery_id": "2c4e6a8b-0d1f-4a3c-9e5b-7d9f1b3d5f7a", "event": "job.completed",
                          "job_id": "\(Examples.jobID)", "status": "delivered", "attempts": 1, "last_status_code": 200,
                          "last_error": null, "delivered_at": "2026-11-26T18:47:12.010Z", "created_at": "2026-11-26T18:47:11.920Z",
                          "next_attempt_at": null}], "next_cursor": null}
                        """
                    )
                ],
                errors: [foreign, ErrorAnswer(404, Sentences.notFound("Team"))]
            ),
        ]
    }

    static var audit: [OperationSpec] {
        [
            OperationSpec(
                method: .get,
                path: "/api/admin/audit",
                summary: "Admin actions and aggregated failed authentications, newest first",
                tag: .audit,
                auth: .admin,
                query: [.limit, .cursor],
                answers: [
                    .ok(
                        "AuditList",
                        """
                        {"events": [{"audit_id": 812, "actor": "admin", "action": "POST /api/teams/{team_id}/suspend",
                          "target": "acme-research", "outcome": "200", "details": {}, "count": 1,
                          "created_at": "2026-11-26T18:47:10.266Z"}], "next_cursor": null}
                        """
                    )
                ]
            )
        ]
    }
}
