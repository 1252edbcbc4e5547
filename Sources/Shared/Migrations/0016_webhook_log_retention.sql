-- The sweeper forgets ended webhook deliveries after 30 days; this index finds the old ones
-- without reading the pending queue or the whole log.
CREATE INDEX webhook_deliveries_ended ON webhook_deliveries (created_at) WHERE status <> 'pending';
