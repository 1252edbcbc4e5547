-- Each claim of a webhook delivery gets a token of its own (issue 11), and an outcome is recorded
-- only under the token of the claim it belongs to: a sender whose lease ran out while its attempt
-- was still going cannot overwrite what the sender holding the new lease records.
ALTER TABLE webhook_deliveries ADD COLUMN claim_token uuid;
